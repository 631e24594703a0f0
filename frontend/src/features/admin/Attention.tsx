import { useInfiniteQuery, useMutation } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"
import { type SubmitEvent, useId, useState } from "react"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import type { AttentionItem } from "@/client"
import { attentionInfiniteOptions, reassignReviewMutation, resolveAlertMutation } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { FieldError, Input, Label } from "@/components/ui/field"
import { formatDateTime } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { useRefreshDesk } from "./desk"

const KIND: Record<AttentionItem["kind"], { words: string; reason: string }> = {
  review_overdue: { words: "Review overdue", reason: "Review overdue" },
  review_unassigned: { words: "Nobody holds this review", reason: "Unassigned review" },
  operator_alert: { words: "Alert", reason: "" },
}

/** Attention: what needs an admin now, the longest waiting first. */
export function Attention() {
  usePageTitle("Attention")
  const attention = useInfiniteQuery({ ...attentionInfiniteOptions(), ...cursorPaging })
  const items = attention.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <h1 className="text-2xl font-semibold">Attention</h1>
      <p className="mt-1 text-slate-700">
        Overdue reviews, reviews nobody holds, and alerts to settle, the longest waiting first.
      </p>
      <div className="mt-6">
        {attention.isPending && <p role="status">Loading what needs attention…</p>}
        {attention.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(attention.error)}
          </Alert>
        )}
        {attention.isSuccess && items.length === 0 && (
          <Card>
            <h2 className="text-lg font-semibold">Nothing needs attention</h2>
            <p className="mt-1 text-slate-700">Overdue and unassigned reviews, and alerts, appear here.</p>
          </Card>
        )}
        <ul className="space-y-4">
          {items.map((item) => (
            <li key={item.notification_id ?? `${item.kind}-${item.enrolment_id ?? ""}`}>
              <AttentionCard item={item} />
            </li>
          ))}
        </ul>
        {attention.hasNextPage && (
          <Button variant="secondary" className="mt-4" onClick={() => void attention.fetchNextPage()}>
            Show more
          </Button>
        )}
      </div>
    </>
  )
}

function AttentionCard({ item }: { item: AttentionItem }) {
  const id = useId()
  return (
    <Card aria-labelledby={id}>
      <h2 id={id} className="text-lg font-semibold">
        {KIND[item.kind].words}
        {item.title && `: ${item.title}`}
      </h2>
      <p className="text-sm text-slate-700">
        {item.member_name && `${item.member_name} · `}since {formatDateTime(item.since)}
      </p>
      <p className="mt-2 whitespace-pre-wrap text-slate-900">{item.summary}</p>
      {item.enrolment_id && (
        <p className="mt-2">
          <Link to="/admin/enrolments/$enrolmentId" params={{ enrolmentId: item.enrolment_id }}>
            Open the enrolment
            {item.member_name && <span className="sr-only"> of {item.member_name}</span>}
          </Link>
        </p>
      )}
      {item.kind === "operator_alert"
        ? item.notification_id && <ResolveAlert notificationId={item.notification_id} />
        : item.enrolment_id && <ReassignToLeastLoaded enrolmentId={item.enrolment_id} defaultReason={KIND[item.kind].reason} />}
    </Card>
  )
}

/** One text (required) and one button: the action of an attention item. */
function ActionForm({
  label,
  initial,
  action,
  pending,
  error,
  onSend,
}: {
  label: string
  initial: string
  action: string
  pending: boolean
  error: unknown
  onSend: (text: string) => void
}) {
  const id = useId()
  const [text, setText] = useState(initial)
  const [missing, setMissing] = useState(false)
  const submit = (event: SubmitEvent) => {
    event.preventDefault()
    if (text.trim()) onSend(text.trim())
    else setMissing(true)
  }
  return (
    <form noValidate onSubmit={submit} className="mt-4 flex flex-wrap items-end gap-3">
      <div className="min-w-64 flex-1">
        <Label htmlFor={id}>{label} (required)</Label>
        <Input
          id={id}
          className="mt-1"
          value={text}
          required
          maxLength={500}
          aria-invalid={missing ? true : undefined}
          aria-describedby={missing ? `${id}-error` : undefined}
          onChange={(e) => {
            setText(e.target.value)
            setMissing(false)
          }}
        />
        <FieldError id={`${id}-error`}>{missing ? `Write a ${label.toLowerCase()}: it is recorded.` : null}</FieldError>
      </div>
      <Button type="submit" disabled={pending}>
        {action}
      </Button>
      {error !== null && (
        <Alert tone="danger" role="alert" className="basis-full">
          {errorMessage(error)}
        </Alert>
      )}
    </form>
  )
}

function ReassignToLeastLoaded({ enrolmentId, defaultReason }: { enrolmentId: string; defaultReason: string }) {
  const refresh = useRefreshDesk()
  const reassign = useMutation({
    ...reassignReviewMutation(),
    onSuccess: async () => {
      toast.success("The review was reassigned.")
      await refresh()
    },
  })
  return (
    <ActionForm
      label="Reason"
      initial={defaultReason}
      action={reassign.isPending ? "Reassigning…" : "Reassign to the least loaded evaluator"}
      pending={reassign.isPending}
      error={reassign.error}
      onSend={(reason) =>
        reassign.mutate({ path: { enrolment_id: enrolmentId }, body: { evaluator_id: null, reason } })
      }
    />
  )
}

function ResolveAlert({ notificationId }: { notificationId: string }) {
  const refresh = useRefreshDesk()
  const resolve = useMutation({
    ...resolveAlertMutation(),
    onSuccess: async () => {
      toast.success("The alert is resolved.")
      await refresh()
    },
  })
  return (
    <ActionForm
      label="Note"
      initial=""
      action={resolve.isPending ? "Saving…" : "Mark resolved"}
      pending={resolve.isPending}
      error={resolve.error}
      onSend={(note) => resolve.mutate({ path: { notification_id: notificationId }, body: { note } })}
    />
  )
}
