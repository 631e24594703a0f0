import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { AdminEnrolmentPage } from "@/features/admin/AdminEnrolmentPage"

export const Route = createFileRoute("/_app/admin/enrolments/$enrolmentId")({
  beforeLoad: requireRole("admin"),
  component: function AdminEnrolmentRoute() {
    const { enrolmentId } = Route.useParams()
    return <AdminEnrolmentPage enrolmentId={enrolmentId} />
  },
})
