import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { EnrolmentSearch } from "@/features/admin/EnrolmentSearch"
import { parseFilters } from "@/features/admin/search"

export const Route = createFileRoute("/_app/admin/enrolments/")({
  validateSearch: parseFilters,
  beforeLoad: requireRole("admin"),
  component: function EnrolmentsRoute() {
    return <EnrolmentSearch filters={Route.useSearch()} />
  },
})
