import { useQuery } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { type SubmitEvent, useState } from "react"

import { errorMessage } from "@/api/errors"
import type { Role } from "@/auth/session"
import { authConfigOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Input, Label, Select } from "@/components/ui/field"
import { usePageTitle } from "@/lib/page-title"

import { signInWithProvider } from "@/auth/oidc"

const ROLE_WORDS: Record<Role, string> = { member: "member", evaluator: "evaluator", admin: "admin" }

export function SignInScreen({ redirect, expired }: { redirect?: string; expired: boolean }) {
  usePageTitle("Sign in")
  const config = useQuery(authConfigOptions())
  const [failure, setFailure] = useState<string | null>(null)
  const provider = config.data?.oidc

  return (
    <main className="mx-auto max-w-lg px-4 py-12">
      <p className="text-sm font-semibold tracking-wide text-brand-700 uppercase">microcred</p>
      <h1 className="mt-1 text-3xl font-semibold">Sign in</h1>
      <p className="mt-2 text-slate-700">Earn micro-credentials, review them, and run them.</p>
      {expired && (
        <Alert tone="warning" className="mt-6" role="status" heading="Your session has ended">
          Sign in again to carry on. Anything you typed that was not saved yet is kept in this browser and
          saved when you return to it.
        </Alert>
      )}
      {config.isError && (
        <Alert tone="danger" className="mt-6" role="alert">
          {errorMessage(config.error)}
        </Alert>
      )}
      {failure && (
        <Alert tone="danger" className="mt-6" role="alert">
          {failure}
        </Alert>
      )}
      {provider && (
        <Card className="mt-6">
          <Button
            size="lg"
            className="w-full"
            onClick={() => {
              setFailure(null)
              signInWithProvider(provider, redirect ?? "/").catch((error: unknown) =>
                setFailure(error instanceof Error ? error.message : "The identity provider could not be reached."),
              )
            }}
          >
            Sign in with your organisation account
          </Button>
        </Card>
      )}
      {config.data?.dev_sign_in && (
        <Card className="mt-6" aria-labelledby="demo-people">
          <h2 id="demo-people" className="text-lg font-semibold">
            Demo people
          </h2>
          <p className="mt-1 text-sm text-slate-700">
            This is a development deployment: sign in as anyone, no password needed.
          </p>
          <ul className="mt-4 space-y-2">
            {config.data.demo_people.map((person) => (
              <li key={person.sub}>
                <Link
                  to="/sign-in/dev"
                  search={{ sub: person.sub, role: person.role, redirect }}
                  className="flex items-center justify-between rounded-md border border-slate-200 px-3 py-2 no-underline hover:bg-brand-50"
                >
                  <span className="font-medium text-slate-900">Sign in as {person.name}</span>
                  <span className="text-sm text-slate-700">{ROLE_WORDS[person.role]}</span>
                </Link>
              </li>
            ))}
          </ul>
          <SomeoneElse redirect={redirect} />
        </Card>
      )}
    </main>
  )
}

function SomeoneElse({ redirect }: { redirect?: string }) {
  const navigate = useNavigate()
  const [sub, setSub] = useState("")
  const [role, setRole] = useState<Role>("member")
  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (sub.trim()) void navigate({ to: "/sign-in/dev", search: { sub: sub.trim(), role, redirect } })
  }
  return (
    <form onSubmit={submit} className="mt-6 border-t border-slate-200 pt-4">
      <h3 className="font-semibold">Someone else</h3>
      <div className="mt-3 grid grid-cols-[1fr_auto] gap-3">
        <div>
          <Label htmlFor="dev-sub">User id</Label>
          <Input id="dev-sub" value={sub} onChange={(e) => setSub(e.target.value)} placeholder="alice" />
        </div>
        <div>
          <Label htmlFor="dev-role">Role</Label>
          <Select id="dev-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="member">member</option>
            <option value="evaluator">evaluator</option>
            <option value="admin">admin</option>
          </Select>
        </div>
      </div>
      <Button type="submit" variant="secondary" className="mt-3">
        Sign in
      </Button>
    </form>
  )
}
