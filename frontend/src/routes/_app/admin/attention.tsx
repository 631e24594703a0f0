import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { Attention } from "@/features/admin/Attention"

export const Route = createFileRoute("/_app/admin/attention")({
  beforeLoad: requireRole("admin"),
  component: Attention,
})
