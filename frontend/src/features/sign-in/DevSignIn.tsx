import { useMutation } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { useEffect } from "react"

import { errorMessage } from "@/api/errors"
import { HOME, type Role, saveSession, sessionFromToken } from "@/auth/session"
import { devTokenMutation } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { usePageTitle } from "@/lib/page-title"

/** /sign-in/dev?sub=…&role=…: signs in as that person and opens their home screen. */
export function DevSignIn({ sub, role, redirect }: { sub: string; role: Role; redirect?: string }) {
  usePageTitle("Signing in")
  const navigate = useNavigate()
  const { mutate, error, isError } = useMutation({
    ...devTokenMutation(),
    onSuccess: (token) => {
      const session = sessionFromToken(token.access_token, "dev")
      saveSession(session)
      void navigate({ to: redirect ?? HOME[session.role], replace: true })
    },
  })
  useEffect(() => {
    mutate({ body: { sub, role } })
  }, [mutate, sub, role])

  return (
    <main className="mx-auto max-w-lg px-4 py-12">
      <h1 className="text-2xl font-semibold">Signing in as {sub || "nobody"}…</h1>
      {isError && (
        <Alert tone="danger" className="mt-6" role="alert" heading="Could not sign in">
          {errorMessage(error)} <Link to="/sign-in">Back to sign-in</Link>
        </Alert>
      )}
    </main>
  )
}
