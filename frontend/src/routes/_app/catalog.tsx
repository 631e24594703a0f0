import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { Catalog } from "@/features/catalog/Catalog"

export const Route = createFileRoute("/_app/catalog")({
  beforeLoad: requireRole("member"),
  component: Catalog,
})
