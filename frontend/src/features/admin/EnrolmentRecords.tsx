import { useMutation } from "@tanstack/react-query"
import { type SubmitEvent, useEffect, useRef, useState } from "react"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import type { NotificationKind, NotificationRecord, PaymentRecord } from "@/client"
import { resendNotificationMutation } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Table, Td, Th } from "@/components/ui/table"
import { formatDateTime, formatMoney } from "@/lib/format"

import { useRefreshDesk } from "./desk"
import { REASON_NEEDED, ReasonField } from "./ReasonField"

const PAYMENT_STATUS: Record<string, string> = {
  open: "Checkout open",
  processing: "Processing",
  paid: "Paid",
  expired: "Checkout expired",
  failed: "Failed",
  refunded: "Refunded",
  mismatch: "Wrong amount (refunded)",
}

const MAIL_STATUS: Record<string, string> = {
  not_sent: "Not mailed",
  pending: "Being mailed",
  sent: "Mailed",
  failed: "Mail failed",
}

const NOTIFICATION_KIND: Record<NotificationKind, string> = {
  purchase_receipt: "Purchase receipt",
  due_reminder: "Due date reminder",
  submission_received: "Submission received",
  evaluator_assigned: "Evaluator assigned",
  review_unassigned: "Review unassigned",
  evaluator_reminder: "Evaluator reminder",
  review_overdue: "Review overdue",
  decision: "Decision",
  badge_issued: "Badge issued",
  expired: "Expired",
  cancelled: "Cancelled",
  payment_refunded: "Payment refunded",
  payment_processing: "Payment processing",
  deadline_extended: "Deadline extended",
  operator_alert: "Alert",
}

/** Every payment of the enrolment, oldest first, with its refund. */
export function PaymentsTable({ payments }: { payments: PaymentRecord[] }) {
  return (
    <section aria-labelledby="payments-heading">
      <h2 id="payments-heading" className="text-lg font-semibold">
        Payments
      </h2>
      {payments.length === 0 ? (
        <p className="mt-2 text-slate-800">No payment yet.</p>
      ) : (
        <Table className="mt-3">
          <caption className="sr-only">Payments, oldest first</caption>
          <thead>
            <tr>
              <Th>Attempt</Th>
              <Th>For</Th>
              <Th>Amount</Th>
              <Th>Status</Th>
              <Th>Paid</Th>
              <Th>Refunded</Th>
              <Th>Checkout session</Th>
            </tr>
          </thead>
          <tbody>
            {payments.map((p) => (
              <tr key={p.checkout_session_id}>
                <Td>{p.attempt}</Td>
                <Td>{p.kind === "resubmission" ? "Resubmission" : "Purchase"}</Td>
                <Td>{formatMoney(p.amount, p.currency)}</Td>
                <Td>{PAYMENT_STATUS[p.status] ?? p.status}</Td>
                <Td>{formatDateTime(p.paid_at)}</Td>
                <Td>
                  {p.refunded_at
                    ? `${formatMoney(p.refunded_amount ?? p.amount, p.currency)} on ${formatDateTime(p.refunded_at)}`
                    : "—"}
                </Td>
                <Td>
                  <code className="text-xs break-all">{p.checkout_session_id}</code>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </section>
  )
}

/** Every notification the enrolment sent, each of which can be sent again. */
export function NotificationsTable({
  enrolmentId,
  notifications,
}: {
  enrolmentId: string
  notifications: NotificationRecord[]
}) {
  const [resending, setResending] = useState<NotificationRecord | null>(null)
  return (
    <section aria-labelledby="notifications-heading">
      <h2 id="notifications-heading" className="text-lg font-semibold">
        Notifications
      </h2>
      {notifications.length === 0 ? (
        <p className="mt-2 text-slate-800">No notification yet.</p>
      ) : (
        <Table className="mt-3">
          <caption className="sr-only">Notifications, oldest first</caption>
          <thead>
            <tr>
              <Th>Sent</Th>
              <Th>Notification</Th>
              <Th>To</Th>
              <Th>Mail</Th>
              <Th>
                <span className="sr-only">Action</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {notifications.map((n) => (
              <tr key={n.id}>
                <Td>{formatDateTime(n.created_at)}</Td>
                <Td>
                  {n.subject}
                  <span className="block text-xs text-slate-700">{NOTIFICATION_KIND[n.kind]}</span>
                </Td>
                <Td>{n.recipient_id === "admins" ? "The admins" : n.recipient_id}</Td>
                <Td>{MAIL_STATUS[n.mail_status] ?? n.mail_status}</Td>
                <Td>
                  <Button
                    size="sm"
                    variant="secondary"
                    aria-label={`Re-send “${n.subject}” to ${n.recipient_id}`}
                    onClick={() => setResending(n)}
                  >
                    Re-send
                  </Button>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {resending && (
        <ResendForm
          key={resending.id}
          enrolmentId={enrolmentId}
          notification={resending}
          onDone={() => setResending(null)}
        />
      )}
    </section>
  )
}

function ResendForm({
  enrolmentId,
  notification,
  onDone,
}: {
  enrolmentId: string
  notification: NotificationRecord
  onDone: () => void
}) {
  const refresh = useRefreshDesk()
  const [reason, setReason] = useState("")
  const [missing, setMissing] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => input.current?.focus(), [])
  const resend = useMutation({
    ...resendNotificationMutation(),
    onSuccess: async () => {
      toast.success(`“${notification.subject}” was sent again.`)
      onDone()
      await refresh()
    },
  })
  const submit = (event: SubmitEvent) => {
    event.preventDefault()
    if (!reason.trim()) {
      setMissing(true)
      return
    }
    resend.mutate({
      path: { enrolment_id: enrolmentId, notification_id: notification.id },
      body: { reason: reason.trim() },
    })
  }
  return (
    <Card className="mt-3" aria-labelledby="resend-heading">
      <h3 id="resend-heading" className="font-semibold">
        Re-send “{notification.subject}”
      </h3>
      <form noValidate onSubmit={submit} className="mt-3 space-y-3">
        <ReasonField
          inputRef={input}
          value={reason}
          onChange={(value) => {
            setReason(value)
            setMissing(false)
          }}
          error={missing ? REASON_NEEDED : null}
        />
        {resend.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(resend.error)}
          </Alert>
        )}
        <div className="flex gap-3">
          <Button type="submit" disabled={resend.isPending}>
            {resend.isPending ? "Sending…" : "Send again"}
          </Button>
          <Button type="button" variant="secondary" onClick={onDone}>
            Close
          </Button>
        </div>
      </form>
    </Card>
  )
}
