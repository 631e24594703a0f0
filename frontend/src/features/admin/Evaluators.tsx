import { useInfiniteQuery, useMutation } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"
import { useState } from "react"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import type { CredentialPublic, EvaluatorPublic, ReviewItem } from "@/client"
import {
  evaluatorOpenReviewsInfiniteOptions,
  reassignReviewMutation,
  setEvaluatorDutyMutation,
} from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { StatusPill } from "@/components/ui/status-pill"
import { Table, Td, Th } from "@/components/ui/table"
import { formatDate } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { useCredentials, useEvaluators, useRefreshDesk } from "./desk"
import { EvaluatorForm } from "./EvaluatorForm"

/** Evaluators: who evaluates what, who is on duty, and the reviews each one holds. */
export function Evaluators() {
  usePageTitle("Evaluators")
  const evaluators = useEvaluators()
  const credentials = useCredentials()
  const [editing, setEditing] = useState<EvaluatorPublic | null>(null)
  // A new key empties the "Add an evaluator" form after each registration.
  const [added, setAdded] = useState(0)
  const holding = evaluators.items.filter((e) => e.open_reviews > 0)
  return (
    <>
      <h1 className="text-2xl font-semibold">Evaluators</h1>
      <p className="mt-1 text-slate-700">
        Off duty, an evaluator gets no new reviews; the ones they hold stay theirs until you reassign them.
      </p>
      <div className="mt-6 space-y-6">
        {evaluators.query.isPending && <p role="status">Loading the evaluators…</p>}
        {evaluators.query.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(evaluators.query.error)}
          </Alert>
        )}
        {evaluators.query.isSuccess && evaluators.items.length === 0 && <p>No evaluator is registered yet.</p>}
        {evaluators.items.length > 0 && (
          <EvaluatorsTable evaluators={evaluators.items} credentials={credentials.items} onEdit={setEditing} />
        )}
        <EvaluatorForm
          key={editing ? `edit-${editing.id}` : `add-${String(added)}`}
          editing={editing}
          evaluators={evaluators.items}
          credentials={credentials.items}
          onDone={() => {
            setEditing(null)
            setAdded((n) => n + 1)
          }}
        />
        {holding.map((evaluator) => (
          <OpenReviews key={evaluator.id} evaluator={evaluator} />
        ))}
      </div>
    </>
  )
}

function EvaluatorsTable({
  evaluators,
  credentials,
  onEdit,
}: {
  evaluators: EvaluatorPublic[]
  credentials: CredentialPublic[]
  onEdit: (evaluator: EvaluatorPublic) => void
}) {
  const titles = new Map(credentials.map((c) => [c.id, c.title]))
  return (
    <Table>
      <caption className="sr-only">Every evaluator, by name</caption>
      <thead>
        <tr>
          <Th>Name</Th>
          <Th>Email</Th>
          <Th>Credentials</Th>
          <Th>Duty</Th>
          <Th>Open reviews</Th>
          <Th>
            <span className="sr-only">Actions</span>
          </Th>
        </tr>
      </thead>
      <tbody>
        {evaluators.map((e) => (
          <tr key={e.id}>
            <Td>
              {e.name}
              <span className="block text-xs text-slate-700">{e.id}</span>
            </Td>
            <Td>{e.email}</Td>
            <Td>{e.all_credentials ? "All credentials" : e.credential_ids.map((id) => titles.get(id) ?? id).join(", ")}</Td>
            <Td>
              <StatusPill tone={e.on_duty ? "success" : "neutral"}>{e.on_duty ? "On duty" : "Off duty"}</StatusPill>
            </Td>
            <Td>{e.open_reviews}</Td>
            <Td>
              <div className="flex flex-wrap gap-2">
                <Button size="sm" variant="secondary" onClick={() => onEdit(e)}>
                  Edit<span className="sr-only"> {e.name}</span>
                </Button>
                <DutyButton evaluator={e} />
              </div>
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  )
}

function DutyButton({ evaluator }: { evaluator: EvaluatorPublic }) {
  const refresh = useRefreshDesk()
  const duty = useMutation({
    ...setEvaluatorDutyMutation(),
    onSuccess: async (saved) => {
      toast.success(`${saved.name} is ${saved.on_duty ? "on" : "off"} duty.`)
      await refresh()
    },
    onError: (error) => toast.error(errorMessage(error)),
  })
  const action = evaluator.on_duty ? "Take off duty" : "Put on duty"
  return (
    <Button
      size="sm"
      variant="secondary"
      disabled={duty.isPending}
      aria-label={`${action}: ${evaluator.name}`}
      onClick={() => duty.mutate({ path: { sub: evaluator.id }, body: { on_duty: !evaluator.on_duty } })}
    >
      {action}
    </Button>
  )
}

/** The open reviews an evaluator holds, each handed to the least loaded evaluator in one click. */
function OpenReviews({ evaluator }: { evaluator: EvaluatorPublic }) {
  const reviews = useInfiniteQuery({
    ...evaluatorOpenReviewsInfiniteOptions({ path: { sub: evaluator.id } }),
    ...cursorPaging,
  })
  const items = reviews.data?.pages.flatMap((p) => p.items) ?? []
  const headingId = `held-by-${evaluator.id}`
  return (
    <Card aria-labelledby={headingId}>
      <h2 id={headingId} className="text-lg font-semibold">
        Reviews held by {evaluator.name}
      </h2>
      <p className="mt-1 text-sm text-slate-700">
        {evaluator.on_duty ? "On duty." : "Off duty: reassign these so that they are decided in time."}
      </p>
      {reviews.isPending && <p role="status">Loading their reviews…</p>}
      {reviews.isError && (
        <Alert tone="danger" role="alert">
          {errorMessage(reviews.error)}
        </Alert>
      )}
      <ul className="mt-3 divide-y divide-slate-100">
        {items.map((item) => (
          <li key={item.enrolment_id} className="py-3">
            <HeldReview review={item} evaluator={evaluator} />
          </li>
        ))}
      </ul>
      {reviews.hasNextPage && (
        <Button variant="secondary" size="sm" onClick={() => void reviews.fetchNextPage()}>
          Show more
        </Button>
      )}
    </Card>
  )
}

function HeldReview({ review, evaluator }: { review: ReviewItem; evaluator: EvaluatorPublic }) {
  const refresh = useRefreshDesk()
  const reassign = useMutation({
    ...reassignReviewMutation(),
    onSuccess: async () => {
      toast.success(`The review of ${review.title} by ${review.member_name} was reassigned.`)
      await refresh()
    },
  })
  const reason = evaluator.on_duty ? `Taken from ${evaluator.name}` : `${evaluator.name} is off duty`
  return (
    <div className="flex flex-wrap items-center justify-between gap-3">
      <div>
        <Link to="/admin/enrolments/$enrolmentId" params={{ enrolmentId: review.enrolment_id }} className="font-medium">
          {review.title}
          <span className="sr-only"> by {review.member_name}</span>
        </Link>
        <p className="text-sm text-slate-700">
          {review.member_name} · attempt {review.attempt} · due {formatDate(review.review_due_at)}
          {review.overdue && (
            <StatusPill tone="danger" className="ml-2">
              Overdue
            </StatusPill>
          )}
        </p>
      </div>
      <Button
        size="sm"
        disabled={reassign.isPending}
        onClick={() =>
          reassign.mutate({ path: { enrolment_id: review.enrolment_id }, body: { evaluator_id: null, reason } })
        }
      >
        {reassign.isPending ? "Reassigning…" : "Reassign"}
        <span className="sr-only">
          {" "}
          the review of {review.title} by {review.member_name}
        </span>
      </Button>
      {reassign.isError && (
        <Alert tone="danger" role="alert" className="basis-full">
          {errorMessage(reassign.error)}
        </Alert>
      )}
    </div>
  )
}
