import { useInfiniteQuery } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import type { CommunityAccess, LearningItem } from "@/client"
import { myLearningInfiniteOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { StatusPill } from "@/components/ui/status-pill"
import { Table, Td, Th } from "@/components/ui/table"
import { daysFrom, formatDate, isPast, MEMBER_HOLDS_WORK, STATUS } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

/** My Learning: the member's micro-credentials, each opening from its title. */
export function MyLearning() {
  usePageTitle("My Learning")
  const learning = useInfiniteQuery({
    ...myLearningInfiniteOptions(),
    ...cursorPaging,
  })
  const items = learning.data?.pages.flatMap((page) => page.items) ?? []

  return (
    <>
      <h1 className="text-2xl font-semibold">My Learning</h1>
      <p className="mt-1 text-slate-700">Your micro-credentials, their due dates and their review status.</p>
      <div className="mt-6">
        {learning.isPending && <p role="status">Loading your micro-credentials…</p>}
        {learning.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(learning.error)}
          </Alert>
        )}
        {learning.isSuccess && items.length === 0 && <EmptyLearning />}
        {items.length > 0 && <LearningTable items={items} />}
        {learning.hasNextPage && (
          <Button
            variant="secondary"
            className="mt-4"
            disabled={learning.isFetchingNextPage}
            onClick={() => void learning.fetchNextPage()}
          >
            {learning.isFetchingNextPage ? "Loading…" : "Show more"}
          </Button>
        )}
      </div>
    </>
  )
}

function EmptyLearning() {
  return (
    <Card>
      <h2 className="text-lg font-semibold">No micro-credentials yet</h2>
      <p className="mt-1 text-slate-700">
        Buy one from the catalog: you then have 10 months to work on its tasks and submit it for review.
      </p>
      <Button asChild className="mt-4">
        <Link to="/catalog">Browse the catalog</Link>
      </Button>
    </Card>
  )
}

export function LearningTable({ items, now = new Date() }: { items: LearningItem[]; now?: Date }) {
  return (
    <Table>
      <caption className="sr-only">Your micro-credentials</caption>
      <thead>
        <tr>
          <Th>Micro-credential</Th>
          <Th>Status</Th>
          <Th>Due</Th>
          <Th>Review</Th>
          <Th>Attempt</Th>
          <Th>Community</Th>
          <Th>Badge</Th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.enrolment_id}>
            <Td>
              <Link
                to="/learning/$enrolmentId"
                params={{ enrolmentId: item.enrolment_id }}
                className="font-medium"
              >
                {item.title}
              </Link>
            </Td>
            <Td>
              <StatusPill tone={STATUS[item.status].tone}>{STATUS[item.status].words}</StatusPill>
            </Td>
            <Td>
              <DueDate item={item} now={now} />
            </Td>
            <Td>
              <ReviewStatus item={item} now={now} />
            </Td>
            <Td>{item.attempt}</Td>
            <Td>
              {item.community ? <CommunityLink community={item.community} /> : "—"}
            </Td>
            <Td>{item.badge_url ? <a href={item.badge_url}>View badge</a> : "—"}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  )
}

/** The community a credential grants: a link where the catalog gives one, and whether the
 *  member has access yet (the first confirmed payment grants it). */
export function CommunityLink({ community }: { community: CommunityAccess }) {
  return (
    <>
      {community.url && community.access ? (
        <a href={community.url} target="_blank" rel="noopener noreferrer">
          {community.name}
          <span className="sr-only"> (opens in a new tab)</span>
        </a>
      ) : (
        community.name
      )}
      <span className="block text-xs text-slate-700">
        {community.access ? "Access granted" : "Access with the purchase"}
      </span>
    </>
  )
}

export function DueDate({ item, now }: { item: LearningItem; now: Date }) {
  if (!item.due_at) return <>—</>
  const open = MEMBER_HOLDS_WORK.has(item.status)
  return (
    <>
      {formatDate(item.due_at)}
      {open && <span className="block text-xs text-slate-700">{daysFrom(item.due_at, now)}</span>}
    </>
  )
}

/** Submitted, under review until, overdue, or the decision. */
export function ReviewStatus({ item, now }: { item: LearningItem; now: Date }) {
  if (item.status === "under_review") {
    const overdue = isPast(item.review_due_at, now)
    return (
      <>
        Submitted {formatDate(item.submitted_at)}
        <span className={overdue ? "block text-xs font-semibold text-red-800" : "block text-xs text-slate-700"}>
          {overdue ? "Review overdue" : `Under review until ${formatDate(item.review_due_at)}`}
        </span>
      </>
    )
  }
  switch (item.status) {
    case "approved":
      return <>Approved</>
    case "resubmission_requested":
    case "awaiting_resubmission_payment":
      return <>Request to resubmit</>
    case "in_progress":
      return <>{item.attempt > 1 ? "Resubmission not submitted yet" : "Not submitted yet"}</>
    default:
      return <>—</>
  }
}
