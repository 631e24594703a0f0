import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { ReviewPage } from "@/features/review/ReviewPage"

export const Route = createFileRoute("/_app/reviews/$enrolmentId")({
  beforeLoad: requireRole("evaluator"),
  component: function ReviewRoute() {
    const { enrolmentId } = Route.useParams()
    return <ReviewPage enrolmentId={enrolmentId} />
  },
})
