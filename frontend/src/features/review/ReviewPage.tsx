import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { useEffect, useId, useState } from "react"
import { toast } from "sonner"

import { errorDetail, errorMessage } from "@/api/errors"
import type { CredentialDoc, ReviewDetail } from "@/client"
import {
  decideReviewMutation,
  getCredentialOptions,
  getReviewOptions,
  reviewAttemptsOptions,
  reviewQueueInfiniteQueryKey,
} from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Confirm } from "@/components/ui/confirm"
import { Label, Textarea } from "@/components/ui/field"
import { StatusPill } from "@/components/ui/status-pill"
import { AttemptDetails } from "@/features/enrolment/Attempts"
import { formatDate, formatDateTime } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { type CriterionMark, decisionOf } from "./decision"
import { forgetMarks, loadMarks, saveMarks } from "./marks-draft"
import { Attachments } from "@/features/evidence/Attachments"

/** One review: the frozen submission, section by section beside its rubric, and the decision. */
export function ReviewPage({ enrolmentId }: { enrolmentId: string }) {
  const review = useQuery({ ...getReviewOptions({ path: { enrolment_id: enrolmentId } }), gcTime: 0 })
  usePageTitle(review.data ? `Review: ${review.data.title}` : "Review")
  if (review.isPending) return <p role="status">Loading the review…</p>
  if (review.isError) {
    return (
      <Alert tone="warning" role="alert" heading="This review is not in your queue">
        It may have been reassigned to another evaluator, or decided already. <Link to="/reviews">Back to Reviews</Link>
      </Alert>
    )
  }
  return <ReviewForm review={review.data} />
}

function ReviewForm({ review }: { review: ReviewDetail }) {
  const credential = useQuery(getCredentialOptions({ path: { credential_id: review.credential_id } }))
  const [draft, setDraft] = useState(() => loadMarks(review.enrolment_id, review.attempt))
  const [refusal, setRefusal] = useState<string | null>(null)
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  useEffect(() => saveMarks(review.enrolment_id, review.attempt, draft), [draft, review.enrolment_id, review.attempt])

  const criterionIds = review.rubric.map((c) => c.id)
  const decision = decisionOf(criterionIds, draft.marks)
  const setMark = (id: string, change: Partial<CriterionMark>) =>
    setDraft((d) => ({
      ...d,
      marks: { ...d.marks, [id]: { met: d.marks[id]?.met ?? null, comment: d.marks[id]?.comment ?? "", ...change } },
    }))

  const decide = useMutation({
    ...decideReviewMutation(),
    onSuccess: async (result) => {
      forgetMarks(review.enrolment_id, review.attempt)
      toast.success(result.decision === "approved" ? "Approved: the badge is on its way." : "Resubmission requested.")
      await queryClient.invalidateQueries({ queryKey: reviewQueueInfiniteQueryKey() })
      await navigate({ to: "/reviews/decided" })
    },
    onError: (error) => {
      const code = errorDetail(error)?.code
      setRefusal(
        code === "not_assigned"
          ? "This review was reassigned to another evaluator: your decision was not sent. Your marks are kept in this browser."
          : errorMessage(error),
      )
    },
  })
  const sections = sectionsOf(credential.data, review)
  const failed = sections.filter((s) => s.criteria.some((c) => draft.marks[c.id]?.met === false)).map((s) => s.title)

  return (
    <article className="space-y-6">
      <header>
        <p className="text-sm">
          <Link to="/reviews">Reviews</Link>
        </p>
        <h1 className="mt-1 text-2xl font-semibold">{review.title}</h1>
        <p className="mt-1 text-slate-800">
          {review.member_name} · attempt {review.attempt} · submitted {formatDateTime(review.submitted_at)} · due by{" "}
          {formatDate(review.review_due_at)}
          {review.overdue && (
            <StatusPill tone="danger" className="ml-2">
              Overdue
            </StatusPill>
          )}
        </p>
      </header>

      {review.attempt > 1 && <EarlierAttempts review={review} sectionTitles={titlesOf(sections)} />}

      {sections.map((section) => (
        <Card key={section.id} aria-labelledby={`section-${section.id}`}>
          <h2 id={`section-${section.id}`} className="text-lg font-semibold">
            {section.title}
          </h2>
          <div className="mt-4 grid gap-6 lg:grid-cols-2">
            <div>
              <h3 className="font-semibold">Submission</h3>
              <dl className="mt-2 space-y-4">
                {section.tasks.map((task) => (
                  <div key={task.task_id}>
                    <dt className="text-sm font-medium text-slate-800">{task.prompt}</dt>
                    <dd className="mt-1 whitespace-pre-wrap rounded-md bg-slate-50 p-3">
                      {task.response || <em>No answer</em>}
                    </dd>
                    <dd>
                      <Attachments attachments={task.attachments} />
                    </dd>
                  </div>
                ))}
              </dl>
            </div>
            <div>
              <h3 className="font-semibold">Rubric</h3>
              <div className="mt-2 space-y-4">
                {section.criteria.map((criterion) => (
                  <CriterionMarker
                    key={criterion.id}
                    criterion={criterion}
                    mark={draft.marks[criterion.id]}
                    onChange={(change) => setMark(criterion.id, change)}
                  />
                ))}
              </div>
            </div>
          </div>
        </Card>
      ))}

      <Card aria-labelledby="decision-heading">
        <h2 id="decision-heading" className="text-lg font-semibold">
          Decision
        </h2>
        <Label htmlFor="feedback" className="mt-3 block">
          Overall feedback for the member
        </Label>
        <Textarea
          id="feedback"
          className="mt-1"
          value={draft.feedback}
          maxLength={20_000}
          onChange={(e) => setDraft((d) => ({ ...d, feedback: e.target.value }))}
        />
        <p className="mt-3 text-sm text-slate-800" aria-live="polite">
          {decision.unmarked.length > 0
            ? `Mark every criterion to decide (${String(decision.unmarked.length)} left).`
            : decision.uncommented.length > 0
              ? "Add a comment to each criterion not met: the member reads it to know what to rework."
              : decision.outcome === "approved"
                ? "Every criterion is met: the outcome is Approve."
                : "Some criteria are not met: the outcome is Request to resubmit."}
        </p>
        {refusal && (
          <Alert tone="danger" role="alert" className="mt-3">
            {refusal}
          </Alert>
        )}
        <Confirm
          trigger={
            <Button className="mt-4" disabled={!decision.ready || decide.isPending}>
              {decision.outcome === "resubmit" ? "Request to resubmit" : "Approve"}
            </Button>
          }
          title={decision.outcome === "resubmit" ? "Request to resubmit?" : "Approve?"}
          confirm={decision.outcome === "resubmit" ? "Request to resubmit" : "Approve"}
          onConfirm={() =>
            decide.mutate({
              path: { enrolment_id: review.enrolment_id },
              body: {
                outcome: decision.outcome ?? "approved",
                feedback: draft.feedback,
                marks: criterionIds.map((id) => ({
                  criterion_id: id,
                  met: draft.marks[id]?.met ?? false,
                  comment: draft.marks[id]?.comment ?? "",
                })),
              },
            })
          }
        >
          {decision.outcome === "resubmit" ? (
            <p>
              {review.member_name} will see the marked rubric with your comments and feedback, and may start a
              resubmission to rework {failed.length === 1 ? "the section" : "the sections"} {failed.join(", ")}. The
              decision cannot be changed afterwards.
            </p>
          ) : (
            <p>
              {review.member_name} will see that the micro-credential is approved and receives its badge. The decision
              cannot be changed afterwards.
            </p>
          )}
        </Confirm>
      </Card>
    </article>
  )
}

function CriterionMarker({
  criterion,
  mark,
  onChange,
}: {
  criterion: ReviewDetail["rubric"][number]
  mark?: CriterionMark
  onChange: (change: Partial<CriterionMark>) => void
}) {
  const id = useId()
  const unmetWithoutComment = mark?.met === false && !mark.comment.trim()
  return (
    <fieldset className="rounded-md border border-slate-200 p-3">
      <legend className="px-1 font-medium">{criterion.title}</legend>
      {criterion.description && <p className="text-sm text-slate-800">{criterion.description}</p>}
      <div className="mt-2 flex gap-6">
        {([true, false] as const).map((met) => (
          <label key={String(met)} className="flex items-center gap-2 text-sm">
            <input
              type="radio"
              name={`${id}-met`}
              className="size-4 accent-brand-700"
              checked={mark?.met === met}
              onChange={() => onChange({ met })}
            />
            {met ? "Met" : "Not met"}
          </label>
        ))}
      </div>
      <Label htmlFor={`${id}-comment`} className="mt-2 block">
        Comment on {criterion.title}
        {mark?.met === false ? " (required)" : " (optional)"}
      </Label>
      <Textarea
        id={`${id}-comment`}
        className="mt-1 min-h-20"
        value={mark?.comment ?? ""}
        aria-invalid={unmetWithoutComment}
        maxLength={10_000}
        onChange={(e) => onChange({ comment: e.target.value })}
      />
    </fieldset>
  )
}

interface ReviewSection {
  id: string
  title: string
  tasks: ReviewDetail["tasks"]
  criteria: ReviewDetail["rubric"]
}

/** The submission and the rubric grouped by section, in the credential's order. */
function sectionsOf(credential: CredentialDoc | undefined, review: ReviewDetail): ReviewSection[] {
  const ids = [...new Set([...review.tasks.map((t) => t.section_id), ...review.rubric.map((c) => c.section_id)])]
  const titles = Object.fromEntries((credential?.sections ?? []).map((s) => [s.id, s.title]))
  return ids.map((id) => ({
    id,
    title: titles[id] ?? id,
    tasks: review.tasks.filter((t) => t.section_id === id),
    criteria: review.rubric.filter((c) => c.section_id === id),
  }))
}

function titlesOf(sections: ReviewSection[]): Record<string, string> {
  return Object.fromEntries(sections.map((s) => [s.id, s.title]))
}

function EarlierAttempts({ review, sectionTitles }: { review: ReviewDetail; sectionTitles: Record<string, string> }) {
  const attempts = useQuery(reviewAttemptsOptions({ path: { enrolment_id: review.enrolment_id } }))
  const earlier = (attempts.data?.items ?? []).filter((a) => a.attempt < review.attempt)
  if (earlier.length === 0) return null
  return (
    <section aria-labelledby="earlier-heading">
      <h2 id="earlier-heading" className="text-lg font-semibold">
        Earlier attempts
      </h2>
      <div className="mt-2 space-y-2">
        {earlier.map((attempt) => (
          <AttemptDetails key={attempt.attempt} attempt={attempt} sectionTitles={sectionTitles} />
        ))}
      </div>
    </section>
  )
}
