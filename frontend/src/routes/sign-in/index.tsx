import { createFileRoute, redirect } from "@tanstack/react-router"

import { readSession } from "@/auth/session"
import { SignInScreen } from "@/features/sign-in/SignInScreen"

interface SignInSearch {
  redirect?: string
  expired?: boolean
}

export const Route = createFileRoute("/sign-in/")({
  validateSearch: (search: Record<string, unknown>): SignInSearch => ({
    redirect: typeof search.redirect === "string" ? search.redirect : undefined,
    expired: search.expired === true || search.expired === "true" ? true : undefined,
  }),
  beforeLoad: ({ search }) => {
    if (readSession() && !search.expired) throw redirect({ to: "/" })
  },
  component: SignInRoute,
})

function SignInRoute() {
  const { redirect: next, expired } = Route.useSearch()
  return <SignInScreen redirect={next} expired={expired ?? false} />
}
