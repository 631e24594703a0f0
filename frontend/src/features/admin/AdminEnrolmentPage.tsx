import { useQuery } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"
import type { ReactNode } from "react"

import { errorMessage } from "@/api/errors"
import type { AdminEnrolmentDetail } from "@/client"
import { adminEnrolmentOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Card } from "@/components/ui/card"
import { StatusPill } from "@/components/ui/status-pill"
import { Attempts } from "@/features/enrolment/Attempts"
import { Timeline } from "@/features/enrolment/Timeline"
import { MarkedRubricView } from "@/features/rubric/MarkedRubricView"
import { daysFrom, formatDate, formatDateTime, MEMBER_HOLDS_WORK, STATUS } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { useEvaluators } from "./desk"
import { NotificationsTable, PaymentsTable } from "./EnrolmentRecords"
import { Repairs } from "./Repairs"
import { Attachments } from "@/features/evidence/Attachments"

/** One enrolment whole, for an admin: where it stands, the work, payments, notifications,
 *  history, and the repairs that apply to it. */
export function AdminEnrolmentPage({ enrolmentId }: { enrolmentId: string }) {
  const enrolment = useQuery(adminEnrolmentOptions({ path: { enrolment_id: enrolmentId } }))
  usePageTitle(enrolment.data ? `Enrolment: ${enrolment.data.title}` : "Enrolment")
  if (enrolment.isPending) return <p role="status">Loading the enrolment…</p>
  if (enrolment.isError) {
    return (
      <Alert tone="danger" role="alert" heading="This enrolment could not be opened">
        {errorMessage(enrolment.error)} <Link to="/admin/enrolments">Back to Enrolments</Link>
      </Alert>
    )
  }
  const e = enrolment.data
  const sectionTitles = Object.fromEntries(e.sections.map((s) => [s.id, s.title]))
  return (
    <article className="space-y-6">
      <header>
        <p className="text-sm">
          <Link to="/admin/enrolments">Enrolments</Link>
        </p>
        <h1 className="mt-1 text-2xl font-semibold">{e.title}</h1>
        <p className="mt-1 text-slate-800">
          {e.member_name} · enrolment <code>{e.enrolment_id}</code>
        </p>
        <EnrolmentFacts enrolment={e} />
      </header>
      <Repairs enrolment={e} />
      <Work enrolment={e} sectionTitles={sectionTitles} />
      <Attempts enrolmentId={e.enrolment_id} sectionTitles={sectionTitles} />
      <PaymentsTable payments={e.payments} />
      <NotificationsTable enrolmentId={e.enrolment_id} notifications={e.notifications} />
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading" className="text-lg font-semibold">
          Timeline
        </h2>
        <div className="mt-3">
          <Timeline enrolmentId={e.enrolment_id} showActors />
        </div>
      </section>
    </article>
  )
}

function Fact({ term, children, wide = false }: { term: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? "col-span-2" : undefined}>
      <dt className="text-slate-700">{term}</dt>
      <dd>{children}</dd>
    </div>
  )
}

function EnrolmentFacts({ enrolment: e }: { enrolment: AdminEnrolmentDetail }) {
  const evaluators = useEvaluators()
  const evaluator = evaluators.items.find((v) => v.id === e.evaluator_id)
  return (
    <dl className="mt-4 grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-4">
      <Fact term="Status">
        <StatusPill tone={STATUS[e.status].tone}>{STATUS[e.status].words}</StatusPill>
      </Fact>
      <Fact term="Member">
        {e.member_name}
        <span className="block text-xs text-slate-700">{e.member_email ?? e.member_id}</span>
      </Fact>
      <Fact term="Micro-credential">
        <code>{e.credential_id}</code>
      </Fact>
      <Fact term="Attempt">{e.attempt}</Fact>
      <Fact term="Purchased">{e.purchased_at ? formatDate(e.purchased_at) : "Not paid yet"}</Fact>
      <Fact term="Due">
        {formatDate(e.due_at)}
        {e.due_at && MEMBER_HOLDS_WORK.has(e.status) && (
          <span className="block text-xs text-slate-700">{daysFrom(e.due_at)}</span>
        )}
      </Fact>
      <Fact term="Submitted">{formatDateTime(e.submitted_at)}</Fact>
      <Fact term="Review due">
        {formatDate(e.review_due_at)}
        {e.review_overdue && (
          <StatusPill tone="danger" className="ml-2">
            Overdue
          </StatusPill>
        )}
      </Fact>
      <Fact term="Evaluator">{e.evaluator_id ? (evaluator?.name ?? e.evaluator_id) : "Nobody"}</Fact>
      <Fact term="Community">
        {e.community ? `${e.community.name} · ${e.community.access ? "access granted" : "no access yet"}` : "None"}
      </Fact>
      <Fact term="Badge">{e.badge_url ? <a href={e.badge_url}>View the badge</a> : "None yet"}</Fact>
      <Fact term="Created">{formatDateTime(e.created_at)}</Fact>
      <Fact term="Workflow" wide>
        <code className="break-all">{e.workflow_id}</code>
        {e.temporal_ui_url && (
          <a href={e.temporal_ui_url} target="_blank" rel="noreferrer" className="block">
            Open the workflow in the Temporal UI
            <span className="sr-only"> (opens in a new tab)</span>
          </a>
        )}
      </Fact>
    </dl>
  )
}

/** The member's latest work, section by section, read-only; then the latest marks, if any. */
function Work({ enrolment: e, sectionTitles }: { enrolment: AdminEnrolmentDetail; sectionTitles: Record<string, string> }) {
  return (
    <section aria-labelledby="work-heading" className="space-y-3">
      <h2 id="work-heading" className="text-lg font-semibold">
        The work (attempt {e.attempt})
      </h2>
      {e.sections.map((section) => (
        <Card key={section.id} aria-labelledby={`work-${section.id}`}>
          <h3 id={`work-${section.id}`} className="font-semibold">
            {section.title}
          </h3>
          <dl className="mt-2 space-y-3">
            {section.tasks.map((task) => (
              <div key={task.id}>
                <dt className="text-sm font-medium text-slate-800">
                  {task.prompt}
                  {!task.required && <span className="font-normal text-slate-700"> (optional)</span>}
                </dt>
                <dd className="mt-1 whitespace-pre-wrap rounded-md bg-slate-50 p-3">
                  {task.response || <em>No answer yet</em>}
                  {task.saved_at && (
                    <span className="mt-1 block text-xs text-slate-700">Saved {formatDateTime(task.saved_at)}</span>
                  )}
                </dd>
                <dd>
                  <Attachments attachments={task.attachments} />
                </dd>
              </div>
            ))}
          </dl>
        </Card>
      ))}
      {e.rubric && (
        <Card aria-labelledby="marks-heading">
          <h3 id="marks-heading" className="font-semibold">
            Marks of attempt {e.rubric.attempt}: {e.rubric.decision === "approved" ? "Approved" : "Request to resubmit"}
          </h3>
          <div className="mt-3">
            <MarkedRubricView rubric={e.rubric} sectionTitles={sectionTitles} headingLevel={4} />
          </div>
        </Card>
      )}
    </section>
  )
}
