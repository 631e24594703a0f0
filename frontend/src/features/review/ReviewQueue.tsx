import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import { useSession } from "@/auth/session"
import type { ReviewItem } from "@/client"
import { claimReviewMutation, reviewQueueInfiniteOptions, reviewQueueInfiniteQueryKey } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { StatusPill } from "@/components/ui/status-pill"
import { Table, Td, Th } from "@/components/ui/table"
import { daysFrom, formatDate } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

/** Reviews: assigned to me, and those I may claim, the most urgent first. */
export function ReviewQueue() {
  usePageTitle("Reviews")
  const queue = useInfiniteQuery({ ...reviewQueueInfiniteOptions(), ...cursorPaging })
  const items = queue.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <h1 className="text-2xl font-semibold">Reviews</h1>
      <p className="mt-1 text-slate-700">Submissions waiting for your decision, the most urgent first.</p>
      <div className="mt-6">
        {queue.isPending && <p role="status">Loading your reviews…</p>}
        {queue.isError && (
          <Alert tone="danger" role="alert">
            {errorMessage(queue.error)}
          </Alert>
        )}
        {queue.isSuccess && items.length === 0 && (
          <Card>
            <h2 className="text-lg font-semibold">Nothing to review</h2>
            <p className="mt-1 text-slate-700">New submissions appear here as they are assigned to you.</p>
          </Card>
        )}
        {items.length > 0 && <QueueTable items={items} />}
        {queue.hasNextPage && (
          <Button variant="secondary" className="mt-4" onClick={() => void queue.fetchNextPage()}>
            Show more
          </Button>
        )}
      </div>
    </>
  )
}

function QueueTable({ items }: { items: ReviewItem[] }) {
  const session = useSession()
  return (
    <Table>
      <caption className="sr-only">Reviews assigned to you and reviews you may claim</caption>
      <thead>
        <tr>
          <Th>Micro-credential</Th>
          <Th>Member</Th>
          <Th>Attempt</Th>
          <Th>Submitted</Th>
          <Th>Due by</Th>
          <Th>Assigned</Th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => {
          const mine = item.assigned_to === session?.sub
          return (
            <tr key={item.enrolment_id}>
              <Td>
                {mine ? (
                  <Link to="/reviews/$enrolmentId" params={{ enrolmentId: item.enrolment_id }} className="font-medium">
                    {item.title}
                  </Link>
                ) : (
                  <span className="font-medium">{item.title}</span>
                )}
              </Td>
              <Td>{item.member_name}</Td>
              <Td>{item.attempt}</Td>
              <Td>{formatDate(item.submitted_at)}</Td>
              <Td>
                {formatDate(item.review_due_at)}
                {item.overdue ? (
                  <StatusPill tone="danger" className="ml-2">
                    Overdue
                  </StatusPill>
                ) : (
                  item.review_due_at && <span className="block text-xs text-slate-700">{daysFrom(item.review_due_at)}</span>
                )}
              </Td>
              <Td>{mine ? "You" : <ClaimButton item={item} />}</Td>
            </tr>
          )
        })}
      </tbody>
    </Table>
  )
}

function ClaimButton({ item }: { item: ReviewItem }) {
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const claim = useMutation({
    ...claimReviewMutation(),
    onSuccess: async () => {
      toast.success("The review is yours.")
      await queryClient.invalidateQueries({ queryKey: reviewQueueInfiniteQueryKey() })
      await navigate({ to: "/reviews/$enrolmentId", params: { enrolmentId: item.enrolment_id } })
    },
    onError: (error) => toast.error(errorMessage(error)),
  })
  return (
    <Button
      size="sm"
      disabled={claim.isPending}
      aria-label={`Claim the review of ${item.title} by ${item.member_name}`}
      onClick={() => claim.mutate({ path: { enrolment_id: item.enrolment_id } })}
    >
      Claim
    </Button>
  )
}
