import { createFileRoute, redirect } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"

/** The admins' desk opens on Enrolments. */
export const Route = createFileRoute("/_app/admin/")({
  beforeLoad: () => {
    requireRole("admin")()
    throw redirect({ to: "/admin/enrolments" })
  },
})
