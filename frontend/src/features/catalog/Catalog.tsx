import { useInfiniteQuery, useMutation } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { useState } from "react"

import { errorDetail, errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import type { CredentialDoc, LearningItem } from "@/client"
import {
  enrolMutation,
  listCredentialsInfiniteOptions,
  myLearningInfiniteOptions,
} from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { formatMoney } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

const FINISHED = new Set(["expired", "cancelled"])

/** The catalog: each micro-credential with its summary and price, and "Buy". */
export function Catalog() {
  usePageTitle("Catalog")
  const catalog = useInfiniteQuery({
    ...listCredentialsInfiniteOptions(),
    ...cursorPaging,
  })
  const learning = useInfiniteQuery({
    ...myLearningInfiniteOptions(),
    ...cursorPaging,
  })
  // What the member already holds, by credential: a running enrolment or the badge.
  const held = new Map<string, LearningItem>()
  for (const item of learning.data?.pages.flatMap((p) => p.items) ?? []) {
    if (!FINISHED.has(item.status) && !held.has(item.credential_id)) held.set(item.credential_id, item)
  }
  const credentials = catalog.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <h1 className="text-2xl font-semibold">Catalog</h1>
      <p className="mt-1 text-slate-700">
        Buy a micro-credential, work on its tasks over up to 10 months, and earn its badge.
      </p>
      {catalog.isPending && <p role="status" className="mt-6">Loading the catalog…</p>}
      {catalog.isError && (
        <Alert tone="danger" role="alert" className="mt-6">
          {errorMessage(catalog.error)}
        </Alert>
      )}
      <ul className="mt-6 grid gap-4 md:grid-cols-2">
        {credentials.map((credential) => (
          <li key={credential.id}>
            <CredentialCard credential={credential} held={held.get(credential.id)} />
          </li>
        ))}
      </ul>
      {catalog.hasNextPage && (
        <Button variant="secondary" className="mt-4" onClick={() => void catalog.fetchNextPage()}>
          Show more
        </Button>
      )}
    </>
  )
}

function CredentialCard({ credential, held }: { credential: CredentialDoc; held?: LearningItem }) {
  const navigate = useNavigate()
  const [failure, setFailure] = useState<string | null>(null)
  const buy = useMutation({
    ...enrolMutation(),
    onSuccess: (created) => {
      if (created.checkout_url) window.location.assign(created.checkout_url)
      else void navigate({ to: "/learning/$enrolmentId", params: { enrolmentId: created.id } })
    },
    onError: (error) => {
      const code = errorDetail(error)?.code
      setFailure(
        code === "already_enrolled"
          ? "You already have this micro-credential in My Learning."
          : code === "already_earned"
            ? "You have already earned this micro-credential."
            : errorMessage(error),
      )
    },
  })
  const headingId = `credential-${credential.id}`
  return (
    <Card aria-labelledby={headingId} className="flex h-full flex-col">
      <h2 id={headingId} className="text-lg font-semibold">
        {credential.title}
      </h2>
      <p className="mt-2 flex-1 text-slate-800">{credential.summary}</p>
      <ul className="mt-3 space-y-1 text-sm text-slate-800">
        <li>
          {credential.sections.length} {credential.sections.length === 1 ? "section" : "sections"},{" "}
          {credential.sections.reduce((n, s) => n + s.tasks.length, 0)} tasks
        </li>
        {credential.community && <li>Includes the community {credential.community.name}</li>}
        <li>Resubmission: {formatMoney(credential.resubmission_price.amount, credential.resubmission_price.currency)}</li>
      </ul>
      <div className="mt-4 flex items-center justify-between gap-3">
        <p className="text-xl font-semibold">{formatMoney(credential.price.amount, credential.price.currency)}</p>
        {held ? (
          <Button asChild variant="secondary">
            <Link to="/learning/$enrolmentId" params={{ enrolmentId: held.enrolment_id }}>
              {held.status === "approved" ? "Earned: view" : "Open"}
              <span className="sr-only"> {credential.title}</span>
            </Link>
          </Button>
        ) : (
          <Button
            disabled={buy.isPending}
            aria-label={`Buy ${credential.title}`}
            onClick={() => {
              setFailure(null)
              buy.mutate({ body: { credential_id: credential.id } })
            }}
          >
            {buy.isPending ? "Opening checkout…" : "Buy"}
          </Button>
        )}
      </div>
      {failure && (
        <Alert tone="danger" role="alert" className="mt-3">
          {failure} <Link to="/learning">Go to My Learning</Link>
        </Alert>
      )}
    </Card>
  )
}
