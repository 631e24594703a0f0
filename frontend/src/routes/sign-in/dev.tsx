import { createFileRoute } from "@tanstack/react-router"

import type { Role } from "@/auth/session"
import { DevSignIn } from "@/features/sign-in/DevSignIn"

interface DevSearch {
  sub: string
  role: Role
  redirect?: string
}

const ROLES: readonly Role[] = ["member", "evaluator", "admin"]

/** Dev and test deployments only (the server answers 404 here in production). */
export const Route = createFileRoute("/sign-in/dev")({
  validateSearch: (search: Record<string, unknown>): DevSearch => ({
    sub: typeof search.sub === "string" ? search.sub : "",
    role: ROLES.includes(search.role as Role) ? (search.role as Role) : "member",
    redirect: typeof search.redirect === "string" ? search.redirect : undefined,
  }),
  component: DevSignInRoute,
})

function DevSignInRoute() {
  const { sub, role, redirect } = Route.useSearch()
  return <DevSignIn sub={sub} role={role} redirect={redirect} />
}
