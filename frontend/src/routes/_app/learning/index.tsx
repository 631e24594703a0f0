import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { MyLearning } from "@/features/learning/MyLearning"

export const Route = createFileRoute("/_app/learning/")({
  beforeLoad: requireRole("member"),
  component: MyLearning,
})
