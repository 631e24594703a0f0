import { useInfiniteQuery } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import { useSession } from "@/auth/session"
import { myNotificationsInfiniteOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { formatDateTime } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

/** Everything microcred told this person (and mailed, when mail is on), newest first. */
export function Notifications() {
  usePageTitle("Notifications")
  const session = useSession()
  const notifications = useInfiniteQuery({
    ...myNotificationsInfiniteOptions(),
    ...cursorPaging,
  })
  const items = notifications.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <h1 className="text-2xl font-semibold">Notifications</h1>
      {notifications.isPending && <p role="status" className="mt-6">Loading…</p>}
      {notifications.isError && (
        <Alert tone="danger" role="alert" className="mt-6">
          {errorMessage(notifications.error)}
        </Alert>
      )}
      {notifications.isSuccess && items.length === 0 && <p className="mt-6">No notifications yet.</p>}
      <ul className="mt-6 space-y-3">
        {items.map((n) => (
          <li key={n.id}>
            <Card>
              <h2 className="font-semibold">{n.subject}</h2>
              <p className="text-sm text-slate-700">{formatDateTime(n.created_at)}</p>
              <p className="mt-2 whitespace-pre-wrap text-slate-900">{n.body}</p>
              {n.enrolment_id && session?.role === "member" && (
                <p className="mt-2">
                  <Link to="/learning/$enrolmentId" params={{ enrolmentId: n.enrolment_id }}>
                    Open the micro-credential
                  </Link>
                </p>
              )}
            </Card>
          </li>
        ))}
      </ul>
      {notifications.hasNextPage && (
        <Button variant="secondary" className="mt-4" onClick={() => void notifications.fetchNextPage()}>
          Show more
        </Button>
      )}
    </>
  )
}
