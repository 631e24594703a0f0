import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { EnrolmentPage } from "@/features/enrolment/EnrolmentPage"

interface EnrolmentSearch {
  /** How the checkout this page was opened from ended. */
  checkout?: "complete" | "cancelled"
}

export const Route = createFileRoute("/_app/learning/$enrolmentId")({
  validateSearch: (search: Record<string, unknown>): EnrolmentSearch => ({
    checkout: search.checkout === "complete" || search.checkout === "cancelled" ? search.checkout : undefined,
  }),
  beforeLoad: requireRole("member"),
  component: EnrolmentRoute,
})

function EnrolmentRoute() {
  const { enrolmentId } = Route.useParams()
  const { checkout } = Route.useSearch()
  return <EnrolmentPage enrolmentId={enrolmentId} returned={checkout} />
}
