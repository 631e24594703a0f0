import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { DecidedReview } from "@/features/review/Decided"

export const Route = createFileRoute("/_app/reviews/decided/$enrolmentId")({
  validateSearch: (search: Record<string, unknown>): { credential?: string } => ({
    credential: typeof search.credential === "string" ? search.credential : undefined,
  }),
  beforeLoad: requireRole("evaluator"),
  component: function DecidedRoute() {
    const { enrolmentId } = Route.useParams()
    const { credential } = Route.useSearch()
    return <DecidedReview enrolmentId={enrolmentId} credentialId={credential ?? ""} />
  },
})
