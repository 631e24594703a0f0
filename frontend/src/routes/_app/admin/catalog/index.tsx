import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { AdminCatalog } from "@/features/admin/AdminCatalog"

export const Route = createFileRoute("/_app/admin/catalog/")({
  beforeLoad: requireRole("admin"),
  component: AdminCatalog,
})
