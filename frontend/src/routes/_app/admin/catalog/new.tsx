import { createFileRoute } from "@tanstack/react-router"

import { requireRole } from "@/auth/guard"
import { CredentialEditor } from "@/features/admin/CredentialEditor"

export const Route = createFileRoute("/_app/admin/catalog/new")({
  /** ``from``: the id of a published credential whose document the new one starts from. */
  validateSearch: (search: Record<string, unknown>): { from?: string } => ({
    from: typeof search.from === "string" && search.from !== "" ? search.from : undefined,
  }),
  beforeLoad: requireRole("admin"),
  component: function CredentialEditorRoute() {
    const { from } = Route.useSearch()
    return <CredentialEditor from={from} />
  },
})
