import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"
import { useState } from "react"
import { toast } from "sonner"

import { errorDetail, errorMessage } from "@/api/errors"
import type { EnrolmentDetail } from "@/client"
import {
  getEnrolmentOptions,
  getEnrolmentQueryKey,
  myLearningInfiniteQueryKey,
  startResubmissionMutation,
  submitMutation,
} from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Confirm } from "@/components/ui/confirm"
import { StatusPill } from "@/components/ui/status-pill"
import { CommunityLink, DueDate, ReviewStatus } from "@/features/learning/MyLearning"
import { failedSections, MarkedRubricView } from "@/features/rubric/MarkedRubricView"
import { submitGate } from "@/features/work/submit-gate"
import { SubmitPanel } from "@/features/work/SubmitPanel"
import { useWork } from "@/features/work/useWork"
import { formatDate, STATUS } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { Attempts } from "./Attempts"
import { BadgePanel } from "./BadgePanel"
import { PaymentPanel } from "./PaymentPanel"
import { Sections } from "./Sections"
import { Timeline } from "./Timeline"

const AWAITING_PAYMENT = new Set(["awaiting_payment", "awaiting_resubmission_payment"])

/** The micro-credential as its member works on it, from purchase to badge. */
export function EnrolmentPage({
  enrolmentId,
  returned,
}: {
  enrolmentId: string
  returned: "complete" | "cancelled" | undefined
}) {
  const enrolment = useQuery({
    ...getEnrolmentOptions({ path: { enrolment_id: enrolmentId } }),
    // The answers' editors start from the saved versions: always fresh ones, never a cached page
    // from an earlier visit (which would make a newer save look like a conflict).
    gcTime: 0,
    // A payment reaches the enrolment through the payment provider's webhook: watch for it.
    refetchInterval: (query) => {
      const data = query.state.data
      return data && (AWAITING_PAYMENT.has(data.status) || (data.status === "approved" && !data.badge_url))
        ? 2_000
        : false
    },
  })
  usePageTitle(enrolment.data?.title ?? "Micro-credential")
  if (enrolment.isPending) return <p role="status">Loading the micro-credential…</p>
  if (enrolment.isError) {
    return (
      <Alert tone="danger" role="alert" heading="This micro-credential could not be opened">
        {errorMessage(enrolment.error)} <Link to="/learning">Back to My Learning</Link>
      </Alert>
    )
  }
  return <EnrolmentView enrolment={enrolment.data} returned={returned} />
}

function EnrolmentView({ enrolment, returned }: { enrolment: EnrolmentDetail; returned?: "complete" | "cancelled" }) {
  const queryClient = useQueryClient()
  const { session, states } = useWork(enrolment)
  const [agreed, setAgreed] = useState(false)
  const [failure, setFailure] = useState<string | null>(null)
  const sectionTitles = Object.fromEntries(enrolment.sections.map((s) => [s.id, s.title]))
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: getEnrolmentQueryKey({ path: { enrolment_id: enrolment.enrolment_id } }) }),
      queryClient.invalidateQueries({ queryKey: myLearningInfiniteQueryKey() }),
    ])

  const submit = useMutation({
    ...submitMutation(),
    onSuccess: async () => {
      toast.success("Submitted for review.")
      setFailure(null)
      await refresh()
    },
    onError: (error) => {
      const detail = errorDetail(error)
      setFailure(
        detail?.code === "tasks_incomplete"
          ? "Some required tasks have no saved answer yet."
          : errorMessage(error),
      )
    },
  })
  const resubmit = useMutation({
    ...startResubmissionMutation(),
    onSuccess: (checkout) => {
      if (checkout.checkout_url) window.location.assign(checkout.checkout_url)
      else void refresh()
    },
    onError: (error) => toast.error(errorMessage(error)),
  })

  const editing = enrolment.status === "in_progress"
  const tasks = enrolment.sections.flatMap((s) => s.tasks)
  const gate = submitGate(tasks, states, agreed)
  // Between a "Request to resubmit" and the next submission, the marks say what to rework.
  const reworking =
    enrolment.status === "resubmission_requested" ||
    enrolment.status === "awaiting_resubmission_payment" ||
    (editing && enrolment.attempt > 1)
  const failed = failedSections(reworking ? enrolment.rubric : null)

  const onSubmit = async () => {
    setFailure(null)
    if (!(await session.flushAll())) {
      setFailure("An answer could not be saved yet. Check the messages under your answers, then submit again.")
      return
    }
    submit.mutate({ path: { enrolment_id: enrolment.enrolment_id }, body: { agree_terms: agreed } })
  }

  return (
    <article className="space-y-6">
      <header>
        <p className="text-sm">
          <Link to="/learning">My Learning</Link>
        </p>
        <h1 className="mt-1 text-2xl font-semibold">{enrolment.title}</h1>
        <dl className="mt-3 grid grid-cols-2 gap-x-6 gap-y-2 text-sm sm:grid-cols-4">
          <div>
            <dt className="text-slate-700">Status</dt>
            <dd>
              <StatusPill tone={STATUS[enrolment.status].tone}>{STATUS[enrolment.status].words}</StatusPill>
            </dd>
          </div>
          <div>
            <dt className="text-slate-700">Due</dt>
            <dd>{enrolment.due_at ? <DueDate item={enrolment} now={new Date()} /> : "Starts with your payment"}</dd>
          </div>
          <div>
            <dt className="text-slate-700">Review</dt>
            <dd>
              <ReviewStatus item={enrolment} now={new Date()} />
            </dd>
          </div>
          <div>
            <dt className="text-slate-700">Attempt</dt>
            <dd>{enrolment.attempt}</dd>
          </div>
          {enrolment.community && (
            <div className="col-span-2">
              <dt className="text-slate-700">Community</dt>
              <dd>
                <CommunityLink community={enrolment.community} />
              </dd>
            </div>
          )}
        </dl>
      </header>

      {AWAITING_PAYMENT.has(enrolment.status) && <PaymentPanel enrolment={enrolment} returned={returned} />}
      {enrolment.status === "under_review" && (
        <Alert tone="info" role="status" heading="Submitted for review">
          You submitted attempt {enrolment.attempt} on {formatDate(enrolment.submitted_at)}. The evaluator decides by{" "}
          {formatDate(enrolment.review_due_at)}; edits cannot be made meanwhile. Monitor the status here or in My
          Learning.
        </Alert>
      )}
      {enrolment.status === "expired" && (
        <Alert tone="warning" heading="Expired">
          The submission window ended before this micro-credential was submitted. You can buy it again from the
          catalog; your work here stays readable.
        </Alert>
      )}
      {enrolment.status === "cancelled" && (
        <Alert tone="warning" heading="Cancelled">
          This enrolment was cancelled. Any refund due was sent to the card you paid with.
        </Alert>
      )}
      {enrolment.status === "approved" &&
        (enrolment.badge_url ? (
          <BadgePanel badgeUrl={enrolment.badge_url} />
        ) : (
          <Alert tone="success" role="status" heading="Approved">
            Your badge is being issued…
          </Alert>
        ))}

      {enrolment.rubric && enrolment.status === "resubmission_requested" && (
        <Card aria-labelledby="marked-rubric">
          <h2 id="marked-rubric" className="text-lg font-semibold">
            Request to resubmit: the marked rubric
          </h2>
          <p className="mt-1 text-slate-800">
            Some criteria were not met. Read the evaluator's marks; after the resubmission purchase you can edit the
            sections that did not meet the standard, while the others keep their approved work.
          </p>
          <div className="mt-4">
            <MarkedRubricView rubric={enrolment.rubric} sectionTitles={sectionTitles} />
          </div>
          <Confirm
            trigger={
              <Button className="mt-5" disabled={resubmit.isPending}>
                Start resubmission
              </Button>
            }
            title="Start resubmission"
            confirm="Continue to payment"
            onConfirm={() => resubmit.mutate({ path: { enrolment_id: enrolment.enrolment_id } })}
          >
            <p>
              A resubmission needs a resubmission purchase. After paying you can edit the{" "}
              {failed.size === 1 ? "section" : "sections"} that did not meet the standard and submit again before{" "}
              {formatDate(enrolment.due_at)}.
            </p>
          </Confirm>
        </Card>
      )}

      {enrolment.status !== "awaiting_payment" && (
        <section aria-label="Sections" className="space-y-3">
          <Sections
            enrolment={enrolment}
            session={session}
            states={states}
            failed={failed}
            marks={reworking ? enrolment.rubric : null}
          />
        </section>
      )}

      {editing && (
        <SubmitPanel
          gate={gate}
          agreed={agreed}
          onAgreedChange={setAgreed}
          onSubmit={() => void onSubmit()}
          submitting={submit.isPending}
          failure={failure}
        />
      )}

      <Attempts enrolmentId={enrolment.enrolment_id} sectionTitles={sectionTitles} />

      <section aria-labelledby="history-heading">
        <h2 id="history-heading" className="text-lg font-semibold">
          History
        </h2>
        <div className="mt-3">
          <Timeline enrolmentId={enrolment.enrolment_id} />
        </div>
      </section>
    </article>
  )
}
