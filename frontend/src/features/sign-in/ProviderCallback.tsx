import { useQuery } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { useEffect, useState } from "react"

import { completeSignIn } from "@/auth/oidc"
import { authConfigOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { usePageTitle } from "@/lib/page-title"

export function ProviderCallback() {
  usePageTitle("Signing in")
  const navigate = useNavigate()
  const config = useQuery(authConfigOptions())
  const [failure, setFailure] = useState<string | null>(null)
  const provider = config.data?.oidc

  useEffect(() => {
    if (!provider) return
    completeSignIn(provider)
      .then((next) => navigate({ to: next, replace: true }))
      .catch((error: unknown) => setFailure(error instanceof Error ? error.message : "Sign-in failed."))
  }, [provider, navigate])

  return (
    <main className="mx-auto max-w-lg px-4 py-12">
      <h1 className="text-2xl font-semibold">Signing in…</h1>
      {(failure || (config.isSuccess && !provider)) && (
        <Alert tone="danger" className="mt-6" role="alert" heading="Could not sign in">
          {failure ?? "This deployment has no identity provider."} <Link to="/sign-in">Back to sign-in</Link>
        </Alert>
      )}
    </main>
  )
}
