import { useInfiniteQuery, useQuery } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import { decidedReviewsInfiniteOptions, getCredentialOptions, reviewAttemptsOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { StatusPill } from "@/components/ui/status-pill"
import { Table, Td, Th } from "@/components/ui/table"
import { AttemptDetails } from "@/features/enrolment/Attempts"
import { formatDate } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

/** Decided: every attempt this evaluator decided, newest first (read-only). */
export function Decided() {
  usePageTitle("Decided")
  const decided = useInfiniteQuery({ ...decidedReviewsInfiniteOptions(), ...cursorPaging })
  const items = decided.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <h1 className="text-2xl font-semibold">Decided</h1>
      <p className="mt-1 text-slate-700">The reviews you decided, newest first.</p>
      <div className="mt-6">
        {decided.isPending && <p role="status">Loading…</p>}
        {decided.isError && <Alert tone="danger">{errorMessage(decided.error)}</Alert>}
        {decided.isSuccess && items.length === 0 && <p>You have not decided a review yet.</p>}
        {items.length > 0 && (
          <Table>
            <caption className="sr-only">Reviews you decided</caption>
            <thead>
              <tr>
                <Th>Micro-credential</Th>
                <Th>Member</Th>
                <Th>Attempt</Th>
                <Th>Decided</Th>
                <Th>Decision</Th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={`${item.enrolment_id}-${String(item.attempt)}`}>
                  <Td>
                    <Link
                      to="/reviews/decided/$enrolmentId"
                      params={{ enrolmentId: item.enrolment_id }}
                      search={{ credential: item.credential_id }}
                    >
                      {item.title}
                    </Link>
                  </Td>
                  <Td>{item.member_name}</Td>
                  <Td>{item.attempt}</Td>
                  <Td>{formatDate(item.decided_at)}</Td>
                  <Td>
                    <StatusPill tone={item.decision === "approved" ? "success" : "warning"}>
                      {item.decision === "approved" ? "Approved" : "Request to resubmit"}
                    </StatusPill>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {decided.hasNextPage && (
          <Button variant="secondary" className="mt-4" onClick={() => void decided.fetchNextPage()}>
            Show more
          </Button>
        )}
      </div>
    </>
  )
}

/** One decided enrolment's attempts, as submitted and as marked. */
export function DecidedReview({ enrolmentId, credentialId }: { enrolmentId: string; credentialId: string }) {
  const attempts = useQuery(reviewAttemptsOptions({ path: { enrolment_id: enrolmentId } }))
  const credential = useQuery({
    ...getCredentialOptions({ path: { credential_id: credentialId } }),
    enabled: credentialId !== "",
  })
  usePageTitle(credential.data ? `Decided: ${credential.data.title}` : "Decided review")
  if (attempts.isPending) return <p role="status">Loading…</p>
  if (attempts.isError) return <Alert tone="danger">{errorMessage(attempts.error)}</Alert>
  const titles = Object.fromEntries((credential.data?.sections ?? []).map((s) => [s.id, s.title]))
  return (
    <article className="space-y-4">
      <p className="text-sm">
        <Link to="/reviews/decided">Decided</Link>
      </p>
      <h1 className="text-2xl font-semibold">{credential.data?.title ?? "Decided review"}</h1>
      <p className="text-slate-800">Every attempt of this enrolment: what was submitted and how it was marked.</p>
      {attempts.data.items.map((attempt) => (
        <AttemptDetails key={attempt.attempt} attempt={attempt} sectionTitles={titles} />
      ))}
    </article>
  )
}
