import { useMutation } from "@tanstack/react-query"
import { type SubmitEvent, type ReactNode, useId, useState } from "react"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import type { AdminEnrolmentDetail } from "@/client"
import {
  cancelEnrolmentMutation,
  extendDeadlineMutation,
  reassignReviewMutation,
} from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Confirm } from "@/components/ui/confirm"
import { Label, Select } from "@/components/ui/field"
import { formatDate, MEMBER_HOLDS_WORK, STATUS } from "@/lib/format"

import { useEvaluators, useRefreshDesk } from "./desk"
import { REASON_NEEDED, ReasonField } from "./ReasonField"

const FINISHED = new Set(["approved", "expired", "cancelled"])

const EXTENSIONS = [
  { by: "P7D", words: "7 days" },
  { by: "P14D", words: "14 days" },
  { by: "P1M", words: "1 month" },
  { by: "P3M", words: "3 months" },
]

/** The repairs that apply to the enrolment as it stands; each asks for a reason, which the
 *  timeline records with who made it. */
export function Repairs({ enrolment }: { enrolment: AdminEnrolmentDetail }) {
  const extend = MEMBER_HOLDS_WORK.has(enrolment.status)
  const reassign = enrolment.status === "under_review"
  const cancel = !FINISHED.has(enrolment.status)
  return (
    <section aria-labelledby="repairs-heading">
      <h2 id="repairs-heading" className="text-lg font-semibold">
        Repairs
      </h2>
      {!extend && !reassign && !cancel ? (
        <p className="mt-2 text-slate-800">
          No repair applies to an enrolment that is {STATUS[enrolment.status].words.toLowerCase()}.
        </p>
      ) : (
        <div className="mt-3 grid gap-4 lg:grid-cols-2">
          {extend && <ExtendDeadline enrolment={enrolment} />}
          {reassign && <ReassignReview enrolment={enrolment} />}
          {cancel && <CancelEnrolment enrolment={enrolment} />}
        </div>
      )}
    </section>
  )
}

function RepairCard({ title, children }: { title: string; children: ReactNode }) {
  const id = useId()
  return (
    <Card aria-labelledby={id}>
      <h3 id={id} className="font-semibold">
        {title}
      </h3>
      {children}
    </Card>
  )
}

/** The reason, checked before sending, and the API's refusal in words. */
function useReason() {
  const [reason, setReason] = useState("")
  const [missing, setMissing] = useState(false)
  return {
    reason: reason.trim(),
    field: {
      value: reason,
      onChange: (value: string) => {
        setReason(value)
        setMissing(false)
      },
      error: missing ? REASON_NEEDED : null,
    },
    /** Whether a reason was given; if not, the field says it is needed. */
    given: () => {
      setMissing(reason.trim() === "")
      return reason.trim() !== ""
    },
    clear: () => setReason(""),
  }
}

function Refusal({ error }: { error: unknown }) {
  return (
    <Alert tone="danger" role="alert">
      {errorMessage(error)}
    </Alert>
  )
}

function ExtendDeadline({ enrolment }: { enrolment: AdminEnrolmentDetail }) {
  const id = useId()
  const refresh = useRefreshDesk()
  const [by, setBy] = useState("P14D")
  const reason = useReason()
  const extend = useMutation({
    ...extendDeadlineMutation(),
    onSuccess: async (state) => {
      toast.success(`The deadline is now ${formatDate(state.due_at)}.`)
      reason.clear()
      await refresh()
    },
  })
  const submit = (event: SubmitEvent) => {
    event.preventDefault()
    if (reason.given()) extend.mutate({ path: { enrolment_id: enrolment.enrolment_id }, body: { by, reason: reason.reason } })
  }
  return (
    <RepairCard title="Extend the deadline">
      <p className="mt-1 text-sm text-slate-800">Now due {formatDate(enrolment.due_at)}. The member is told the new date.</p>
      <form noValidate onSubmit={submit} className="mt-3 space-y-3">
        <div>
          <Label htmlFor={`${id}-by`}>Extend by</Label>
          <Select id={`${id}-by`} className="mt-1" value={by} onChange={(e) => setBy(e.target.value)}>
            {EXTENSIONS.map((x) => (
              <option key={x.by} value={x.by}>
                {x.words}
              </option>
            ))}
          </Select>
        </div>
        <ReasonField {...reason.field} />
        {extend.isError && <Refusal error={extend.error} />}
        <Button type="submit" disabled={extend.isPending}>
          {extend.isPending ? "Extending…" : "Extend the deadline"}
        </Button>
      </form>
    </RepairCard>
  )
}

function ReassignReview({ enrolment }: { enrolment: AdminEnrolmentDetail }) {
  const id = useId()
  const refresh = useRefreshDesk()
  const evaluators = useEvaluators()
  const [to, setTo] = useState("")
  const reason = useReason()
  const candidates = evaluators.items.filter(
    (e) =>
      e.on_duty &&
      e.id !== enrolment.evaluator_id &&
      e.id !== enrolment.member_id &&
      (e.all_credentials || e.credential_ids.includes(enrolment.credential_id)),
  )
  const holder = enrolment.evaluator_id
    ? (evaluators.items.find((e) => e.id === enrolment.evaluator_id)?.name ?? enrolment.evaluator_id)
    : null
  const reassign = useMutation({
    ...reassignReviewMutation(),
    onSuccess: async (state) => {
      const name = evaluators.items.find((e) => e.id === state.evaluator_id)?.name ?? state.evaluator_id
      toast.success(`The review now goes to ${name ?? "nobody"}.`)
      reason.clear()
      setTo("")
      await refresh()
    },
  })
  const submit = (event: SubmitEvent) => {
    event.preventDefault()
    if (reason.given()) {
      reassign.mutate({
        path: { enrolment_id: enrolment.enrolment_id },
        body: { evaluator_id: to || null, reason: reason.reason },
      })
    }
  }
  return (
    <RepairCard title="Reassign the review">
      <p className="mt-1 text-sm text-slate-800">
        {holder ? `Held by ${holder}.` : "Nobody holds it."} Only evaluators on duty
        who evaluate this micro-credential can take it.
      </p>
      <form noValidate onSubmit={submit} className="mt-3 space-y-3">
        <div>
          <Label htmlFor={`${id}-to`}>Give it to</Label>
          <Select id={`${id}-to`} className="mt-1" value={to} onChange={(e) => setTo(e.target.value)}>
            <option value="">The least loaded eligible evaluator</option>
            {candidates.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name} ({e.open_reviews} open {e.open_reviews === 1 ? "review" : "reviews"})
              </option>
            ))}
          </Select>
        </div>
        <ReasonField {...reason.field} />
        {reassign.isError && <Refusal error={reassign.error} />}
        <Button type="submit" disabled={reassign.isPending}>
          {reassign.isPending ? "Reassigning…" : "Reassign the review"}
        </Button>
      </form>
    </RepairCard>
  )
}

type RefundChoice = "policy" | "refund" | "none"

const REFUND_CHOICES: { value: RefundChoice; words: string }[] = [
  { value: "policy", words: "By the policy (refund unless the work was already reviewed)" },
  { value: "refund", words: "Refund the payment" },
  { value: "none", words: "No refund" },
]

function CancelEnrolment({ enrolment }: { enrolment: AdminEnrolmentDetail }) {
  const id = useId()
  const refresh = useRefreshDesk()
  const [choice, setChoice] = useState<RefundChoice>("policy")
  const reason = useReason()
  const cancel = useMutation({
    ...cancelEnrolmentMutation(),
    onSuccess: async () => {
      toast.success("The enrolment was cancelled.")
      await refresh()
    },
  })
  const paid = enrolment.payments.some((p) => p.status === "paid")
  const policyRefunds = paid && (enrolment.status === "in_progress" || enrolment.status === "under_review")
  const refunds = choice === "refund" ? paid : choice === "none" ? false : policyRefunds
  const send = () =>
    cancel.mutate({
      path: { enrolment_id: enrolment.enrolment_id },
      body: { refund: choice === "policy" ? null : choice === "refund", reason: reason.reason },
    })
  const trigger = (
    <Button variant="danger" type={reason.reason ? "button" : "submit"} disabled={cancel.isPending}>
      {cancel.isPending ? "Cancelling…" : "Cancel the enrolment"}
    </Button>
  )
  return (
    <RepairCard title="Cancel the enrolment">
      <p className="mt-1 text-sm text-slate-800">The member can no longer work on it or submit it.</p>
      <form
        noValidate
        className="mt-3 space-y-3"
        onSubmit={(event) => {
          // Reached only without a reason: with one, the button asks for confirmation instead.
          event.preventDefault()
          reason.given()
        }}
      >
        <fieldset>
          <legend className="text-sm font-medium text-slate-900">Refund</legend>
          <div className="mt-1 space-y-1">
            {REFUND_CHOICES.map((c) => (
              <label key={c.value} className="flex items-start gap-2 text-sm">
                <input
                  type="radio"
                  name={`${id}-refund`}
                  value={c.value}
                  className="mt-0.5 size-4 accent-brand-700"
                  checked={choice === c.value}
                  onChange={() => setChoice(c.value)}
                />
                {c.words}
              </label>
            ))}
          </div>
        </fieldset>
        <ReasonField {...reason.field} />
        {cancel.isError && <Refusal error={cancel.error} />}
        {reason.reason ? (
          <Confirm
            trigger={trigger}
            title="Cancel this enrolment?"
            confirm="Cancel the enrolment"
            tone="danger"
            onConfirm={send}
          >
            <p>
              {enrolment.member_name} can no longer work on “{enrolment.title}” or submit it; the enrolment ends as
              cancelled and they are told why.
            </p>
            <p>
              {refunds
                ? "Their payment for this attempt is refunded to the card they paid with."
                : "Nothing is refunded."}{" "}
              This cannot be undone.
            </p>
          </Confirm>
        ) : (
          trigger
        )}
      </form>
    </RepairCard>
  )
}
