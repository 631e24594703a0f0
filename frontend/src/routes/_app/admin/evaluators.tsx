import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { Evaluators } from "@/features/admin/Evaluators"

export const Route = createFileRoute("/_app/admin/evaluators")({
  beforeLoad: requireRole("admin"),
  component: Evaluators,
})
