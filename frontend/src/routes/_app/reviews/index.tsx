import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { ReviewQueue } from "@/features/review/ReviewQueue"

export const Route = createFileRoute("/_app/reviews/")({
  beforeLoad: requireRole("evaluator"),
  component: ReviewQueue,
})
