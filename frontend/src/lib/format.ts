import type { Tone } from "@/components/ui/status-pill"

import type { Status } from "@/client"

/** Each status in the help article's words, and the tone it is shown in. */
export const STATUS: Record<Status, { words: string; tone: Tone }> = {
  awaiting_payment: { words: "Awaiting payment", tone: "warning" },
  in_progress: { words: "In progress", tone: "progress" },
  under_review: { words: "Under review", tone: "info" },
  resubmission_requested: { words: "Request to resubmit", tone: "warning" },
  awaiting_resubmission_payment: { words: "Awaiting resubmission payment", tone: "warning" },
  approved: { words: "Approved", tone: "success" },
  expired: { words: "Expired", tone: "neutral" },
  cancelled: { words: "Cancelled", tone: "neutral" },
}

/** The statuses in which the work is the member's to do, so the deadline runs (and can expire it). */
export const MEMBER_HOLDS_WORK: ReadonlySet<Status> = new Set([
  "in_progress",
  "resubmission_requested",
  "awaiting_resubmission_payment",
])

const DAY = 24 * 60 * 60 * 1000

const dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" })
const dateTimeFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
})
const timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" })

export function formatDate(iso: string | null | undefined): string {
  return iso ? dateFormat.format(new Date(iso)) : "—"
}

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTimeFormat.format(new Date(iso)) : "—"
}

export function formatTime(iso: string): string {
  return timeFormat.format(new Date(iso))
}

/** "in 12 days", "tomorrow", "today", "2 days ago": whole days from ``now`` to ``iso``. */
export function daysFrom(iso: string, now: Date = new Date()): string {
  const days = Math.ceil((new Date(iso).getTime() - now.getTime()) / DAY)
  if (days === 0) return "today"
  if (days === 1) return "tomorrow"
  if (days === -1) return "yesterday"
  return days > 0 ? `in ${days} days` : `${-days} days ago`
}

export function isPast(iso: string | null | undefined, now: Date = new Date()): boolean {
  return iso != null && new Date(iso).getTime() < now.getTime()
}

/** An amount in the currency's minor unit, written as people read it (9900 usd → $99.00). */
export function formatMoney(amount: number, currency: string): string {
  const format = new Intl.NumberFormat("en-GB", { style: "currency", currency: currency.toUpperCase() })
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2
  return format.format(amount / 10 ** digits)
}
