import { createFileRoute, redirect } from "@tanstack/react-router"

import { HOME, readSession } from "@/auth/session"

/** The home screen is the signed-in person's: My Learning, Reviews or the admins' desk. */
export const Route = createFileRoute("/")({
  beforeLoad: () => {
    const session = readSession()
    throw redirect({ to: session ? HOME[session.role] : "/sign-in" })
  },
})
