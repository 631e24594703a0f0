import { useQuery } from "@tanstack/react-query"

import { errorMessage } from "@/api/errors"
import type { Attempt } from "@/client"
import { listAttemptsOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { MarkedRubricView } from "@/features/rubric/MarkedRubricView"
import { formatDate } from "@/lib/format"
import { Attachments } from "@/features/evidence/Attachments"

/** Earlier attempts: what was submitted and how it was marked, one click away. */
export function Attempts({
  enrolmentId,
  sectionTitles,
  exclude,
}: {
  enrolmentId: string
  sectionTitles: Record<string, string>
  exclude?: number
}) {
  const attempts = useQuery(listAttemptsOptions({ path: { enrolment_id: enrolmentId } }))
  if (attempts.isError) return <Alert tone="danger">{errorMessage(attempts.error)}</Alert>
  const items = (attempts.data?.items ?? []).filter((a) => a.attempt !== exclude)
  if (items.length === 0) return null
  return (
    <section aria-labelledby="attempts-heading">
      <h2 id="attempts-heading" className="text-lg font-semibold">
        Earlier attempts
      </h2>
      <div className="mt-3 space-y-2">
        {items.map((attempt) => (
          <AttemptDetails key={attempt.attempt} attempt={attempt} sectionTitles={sectionTitles} />
        ))}
      </div>
    </section>
  )
}

export function AttemptDetails({ attempt, sectionTitles }: { attempt: Attempt; sectionTitles: Record<string, string> }) {
  const outcome =
    attempt.decision === "approved" ? "Approved" : attempt.decision === "resubmit" ? "Request to resubmit" : "Under review"
  return (
    <details className="rounded-lg border border-slate-200 bg-white">
      <summary className="cursor-pointer px-4 py-3 font-medium">
        Attempt {attempt.attempt}: {outcome}
        <span className="ml-2 text-sm font-normal text-slate-700">submitted {formatDate(attempt.submitted_at)}</span>
      </summary>
      <div className="space-y-4 border-t border-slate-100 px-4 py-4">
        <div>
          <h3 className="font-semibold">What was submitted</h3>
          <dl className="mt-2 space-y-3">
            {attempt.tasks.map((task) => (
              <div key={task.task_id}>
                <dt className="text-sm font-medium text-slate-800">
                  {sectionTitles[task.section_id] ?? task.section_id}: {task.prompt}
                </dt>
                <dd className="mt-1 whitespace-pre-wrap">{task.response || <em>No answer</em>}</dd>
                <dd>
                  <Attachments attachments={task.attachments} />
                </dd>
              </div>
            ))}
          </dl>
        </div>
        {attempt.rubric && (
          <div>
            <h3 className="font-semibold">Marked rubric</h3>
            <div className="mt-2">
              <MarkedRubricView rubric={attempt.rubric} sectionTitles={sectionTitles} headingLevel={4} />
            </div>
          </div>
        )}
      </div>
    </details>
  )
}
