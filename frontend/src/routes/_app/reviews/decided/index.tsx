import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { Decided } from "@/features/review/Decided"

export const Route = createFileRoute("/_app/reviews/decided/")({
  beforeLoad: requireRole("evaluator"),
  component: Decided,
})
