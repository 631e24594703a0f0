import { useInfiniteQuery } from "@tanstack/react-query"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import type { EventKind, TimelineItem } from "@/client"
import { getTimelineInfiniteOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { formatDateTime } from "@/lib/format"

/** What each lifecycle event is called on screen. */
const EVENTS: Record<EventKind, string> = {
  enrolled: "Purchased",
  checkout_opened: "Checkout opened",
  payment_confirmed: "Payment confirmed",
  payment_refunded: "Payment refunded",
  payment_partially_refunded: "Payment partly refunded",
  payment_mismatch: "Payment of the wrong amount (refunded)",
  payment_processing: "Payment processing",
  checkout_ended: "Checkout ended",
  cancelled: "Cancelled",
  community_granted: "Community access granted",
  reminder_sent: "Reminder sent",
  submitted: "Submitted for review",
  evaluator_assigned: "Evaluator assigned",
  review_unassigned: "Waiting for an evaluator",
  review_claimed: "Review claimed",
  evaluator_reminded: "Evaluator reminded",
  review_overdue: "Review overdue",
  review_reassigned: "Review reassigned",
  decided: "Decision",
  resubmission_started: "Resubmission started",
  attempt_started: "New attempt started",
  approved: "Approved",
  badge_issued: "Badge issued",
  expired: "Expired",
  deadline_extended: "Deadline extended",
  notification_resent: "Notification sent again",
}

export function eventWords(kind: EventKind): string {
  return EVENTS[kind]
}

function eventNote(item: TimelineItem): string | null {
  const detail = item.detail as Record<string, unknown>
  if (item.kind === "decided" && typeof detail.outcome === "string") {
    return detail.outcome === "approved" ? "Approved" : "Request to resubmit"
  }
  if (typeof detail.reason === "string") return `Reason: ${detail.reason}`
  return null
}

/** The enrolment's history: every lifecycle event with its time and who did it. */
export function Timeline({ enrolmentId, showActors = false }: { enrolmentId: string; showActors?: boolean }) {
  const timeline = useInfiniteQuery({
    ...getTimelineInfiniteOptions({ path: { enrolment_id: enrolmentId } }),
    ...cursorPaging,
  })
  if (timeline.isError) return <Alert tone="danger">{errorMessage(timeline.error)}</Alert>
  const items = timeline.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <div>
      <ol className="space-y-2 border-l-2 border-slate-200 pl-4">
        {items.map((item, index) => {
          const note = eventNote(item)
          return (
            <li key={`${item.kind}-${item.at}-${index}`}>
              <p className="text-sm">
                <span className="font-medium">{eventWords(item.kind)}</span>
                <span className="ml-2 text-slate-700">{formatDateTime(item.at)}</span>
                {showActors && item.actor && <span className="ml-2 text-slate-700">by {item.actor}</span>}
              </p>
              {note && <p className="text-sm text-slate-800">{note}</p>}
            </li>
          )
        })}
      </ol>
      {timeline.hasNextPage && (
        <Button variant="secondary" size="sm" className="mt-3" onClick={() => void timeline.fetchNextPage()}>
          Show more events
        </Button>
      )}
    </div>
  )
}
