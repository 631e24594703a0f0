import { createFileRoute, redirect } from "@tanstack/react-router"

import { readSession } from "@/auth/session"
import { AppShell } from "@/components/layout/AppShell"

/** Every screen behind sign-in: the left-hand navigation and the page beside it. */
export const Route = createFileRoute("/_app")({
  beforeLoad: ({ location }) => {
    const session = readSession()
    if (!session) throw redirect({ to: "/sign-in", search: { redirect: location.href } })
    return { session }
  },
  component: AppShell,
})
