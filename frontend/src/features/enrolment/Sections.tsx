import type { EnrolmentDetail, MarkedRubric } from "@/client"
import { Accordion, AccordionContent, AccordionItem, AccordionTrigger } from "@/components/ui/accordion"
import { StatusPill } from "@/components/ui/status-pill"
import type { AutosaveState } from "@/features/work/autosave"
import { TaskField } from "@/features/work/TaskField"
import type { WorkSession } from "@/features/work/work-session"
import { cn } from "@/lib/utils"

/** The micro-credential's sections; each expands to its guidance, resources, rubric and tasks. */
export function Sections({
  enrolment,
  session,
  states,
  failed,
  marks,
}: {
  enrolment: EnrolmentDetail
  session: WorkSession
  states: Record<string, AutosaveState>
  failed: Set<string>
  marks: MarkedRubric | null | undefined
}) {
  // Open what needs work: the failed sections of a resubmission, else every editable one.
  const open = enrolment.sections
    .filter((s) => (failed.size > 0 ? failed.has(s.id) : s.tasks.some((t) => t.editable)))
    .map((s) => s.id)
  return (
    <Accordion type="multiple" defaultValue={open} className="space-y-3">
      {enrolment.sections.map((section) => {
        const editable = section.tasks.some((t) => t.editable)
        const didNotMeet = failed.has(section.id)
        return (
          <AccordionItem
            key={section.id}
            value={section.id}
            className={cn(didNotMeet && "border-l-4 border-l-amber-600")}
          >
            <AccordionTrigger
              aside={
                <span className="flex gap-2">
                  {didNotMeet && <StatusPill tone="warning">Did not meet the standard</StatusPill>}
                  {!editable && enrolment.status === "in_progress" && <StatusPill tone="neutral">Read-only</StatusPill>}
                </span>
              }
            >
              {section.title}
            </AccordionTrigger>
            <AccordionContent className="space-y-6">
              {section.guidance && (
                <div>
                  <h3 className="font-semibold">Guidance</h3>
                  <p className="mt-1 whitespace-pre-wrap text-slate-800">{section.guidance}</p>
                </div>
              )}
              {section.resources.length > 0 && (
                <div>
                  <h3 className="font-semibold">Resources</h3>
                  <ul className="mt-1 list-disc pl-5">
                    {section.resources.map((resource) => (
                      <li key={resource.url}>
                        <a href={resource.url} target="_blank" rel="noopener noreferrer">
                          {resource.title}
                          <span className="sr-only"> (opens in a new tab)</span>
                        </a>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
              <div>
                <h3 className="font-semibold">Rubric</h3>
                <ul className="mt-1 space-y-2">
                  {section.rubric.map((criterion) => {
                    const mark = marks?.criteria.find((m) => m.criterion_id === criterion.id)
                    return (
                      <li key={criterion.id} className="rounded-md bg-slate-50 p-3 text-sm">
                        <p className="font-medium">
                          {criterion.title}
                          {mark && (
                            <span className={mark.met ? "ml-2 text-emerald-800" : "ml-2 text-red-800"}>
                              {mark.met ? "Met" : "Not met"}
                            </span>
                          )}
                        </p>
                        {criterion.description && <p className="mt-1 text-slate-800">{criterion.description}</p>}
                        {mark?.comment && (
                          <p className="mt-1 text-slate-900">
                            <span className="font-medium">Evaluator: </span>
                            {mark.comment}
                          </p>
                        )}
                      </li>
                    )
                  })}
                </ul>
              </div>
              <div className="space-y-5">
                <h3 className="font-semibold">Tasks</h3>
                {section.tasks.map((task) => (
                  <TaskField
                    key={task.id}
                    enrolmentId={enrolment.enrolment_id}
                    task={task}
                    controller={session.task(task.id)}
                    state={states[task.id]}
                  />
                ))}
              </div>
            </AccordionContent>
          </AccordionItem>
        )
      })}
    </Accordion>
  )
}
