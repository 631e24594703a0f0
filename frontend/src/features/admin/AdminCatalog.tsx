import { useMutation } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"
import { useState } from "react"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import type { CredentialPublic } from "@/client"
import { retireCredentialMutation } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Confirm } from "@/components/ui/confirm"
import { StatusPill } from "@/components/ui/status-pill"
import { formatDate, formatMoney } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { useCredentials, useRefreshDesk } from "./desk"
import { REASON_NEEDED, ReasonField } from "./ReasonField"

/** The catalog as admins keep it: every credential, retired ones too; publish and retire. */
export function AdminCatalog() {
  usePageTitle("Catalog")
  const credentials = useCredentials()
  return (
    <>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Catalog</h1>
          <p className="mt-1 text-slate-700">
            Published credentials never change: publish a change as a new version, under a new id.
          </p>
        </div>
        <Button asChild>
          <Link to="/admin/catalog/new">Publish a credential</Link>
        </Button>
      </div>
      <div className="mt-6">
        {credentials.query.isPending && <p role="status">Loading the catalog…</p>}
        {credentials.query.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(credentials.query.error)}
          </Alert>
        )}
        {credentials.query.isSuccess && credentials.items.length === 0 && <p>Nothing is published yet.</p>}
        <ul className="space-y-4">
          {credentials.items.map((credential) => (
            <li key={credential.id}>
              <CredentialCard credential={credential} />
            </li>
          ))}
        </ul>
      </div>
    </>
  )
}

function CredentialCard({ credential: c }: { credential: CredentialPublic }) {
  const headingId = `credential-${c.id}`
  const tasks = c.sections.reduce((n, s) => n + s.tasks.length, 0)
  return (
    <Card aria-labelledby={headingId}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h2 id={headingId} className="text-lg font-semibold">
            {c.title}
          </h2>
          <p className="text-sm text-slate-700">
            <code>{c.id}</code>
          </p>
        </div>
        {c.retired_at ? (
          <StatusPill tone="neutral">Retired on {formatDate(c.retired_at)}</StatusPill>
        ) : (
          <StatusPill tone="success">Available</StatusPill>
        )}
      </div>
      <dl className="mt-3 grid grid-cols-2 gap-x-6 gap-y-2 text-sm sm:grid-cols-4">
        <div>
          <dt className="text-slate-700">Price</dt>
          <dd>{formatMoney(c.price.amount, c.price.currency)}</dd>
        </div>
        <div>
          <dt className="text-slate-700">Resubmission</dt>
          <dd>{formatMoney(c.resubmission_price.amount, c.resubmission_price.currency)}</dd>
        </div>
        <div>
          <dt className="text-slate-700">Sections</dt>
          <dd>
            {c.sections.length} ({tasks} {tasks === 1 ? "task" : "tasks"})
          </dd>
        </div>
        <div>
          <dt className="text-slate-700">Community</dt>
          <dd>{c.community?.name ?? "None"}</dd>
        </div>
      </dl>
      <div className="mt-4 flex flex-wrap gap-3">
        <Button asChild variant="secondary">
          <Link to="/admin/catalog/new" search={{ from: c.id }}>
            Publish a new version<span className="sr-only"> of {c.title}</span>
          </Link>
        </Button>
      </div>
      {!c.retired_at && <RetireCredential credential={c} />}
    </Card>
  )
}

function RetireCredential({ credential }: { credential: CredentialPublic }) {
  const refresh = useRefreshDesk()
  const [reason, setReason] = useState("")
  const [missing, setMissing] = useState(false)
  const retire = useMutation({
    ...retireCredentialMutation(),
    onSuccess: async () => {
      toast.success(`${credential.title} is retired.`)
      await refresh()
    },
  })
  const button = (
    <Button variant="danger" type={reason.trim() ? "button" : "submit"} disabled={retire.isPending}>
      {retire.isPending ? "Retiring…" : "Retire"}
      <span className="sr-only"> {credential.title}</span>
    </Button>
  )
  return (
    <details className="mt-4 rounded-md border border-slate-200">
      <summary className="cursor-pointer px-3 py-2 text-sm font-medium">
        Retire this credential<span className="sr-only"> ({credential.title})</span>
      </summary>
      <form
        noValidate
        className="space-y-3 border-t border-slate-100 px-3 py-3"
        onSubmit={(event) => {
          // Reached only without a reason: with one, the button asks for confirmation instead.
          event.preventDefault()
          setMissing(true)
        }}
      >
        <ReasonField
          value={reason}
          onChange={(value) => {
            setReason(value)
            setMissing(false)
          }}
          error={missing ? REASON_NEEDED : null}
        />
        {retire.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(retire.error)}
          </Alert>
        )}
        {reason.trim() ? (
          <Confirm
            trigger={button}
            title={`Retire ${credential.title}?`}
            confirm="Retire"
            tone="danger"
            onConfirm={() =>
              retire.mutate({ path: { credential_id: credential.id }, body: { reason: reason.trim() } })
            }
          >
            <p>No new purchases; running enrolments continue.</p>
            <p>
              Members no longer see it in the catalog. Retiring cannot be undone: to sell it again, publish a new
              version.
            </p>
          </Confirm>
        ) : (
          button
        )}
      </form>
    </details>
  )
}
