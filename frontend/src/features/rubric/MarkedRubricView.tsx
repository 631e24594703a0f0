import { CircleCheck, CircleX } from "lucide-react"

import type { MarkedRubric } from "@/client"

/** The evaluator's marks, section by section: each criterion met or not, with the comment. */
export function MarkedRubricView({
  rubric,
  sectionTitles,
  headingLevel = 3,
}: {
  rubric: MarkedRubric
  sectionTitles: Record<string, string>
  headingLevel?: 2 | 3 | 4
}) {
  const Heading = `h${headingLevel}` as const
  const sections = [...new Set(rubric.criteria.map((c) => c.section_id))]
  return (
    <div className="space-y-4">
      {rubric.feedback && (
        <div>
          <Heading className="font-semibold">Evaluator's feedback</Heading>
          <p className="mt-1 whitespace-pre-wrap">{rubric.feedback}</p>
        </div>
      )}
      {sections.map((sectionId) => (
        <div key={sectionId}>
          <Heading className="font-semibold">{sectionTitles[sectionId] ?? sectionId}</Heading>
          <ul className="mt-2 space-y-2">
            {rubric.criteria
              .filter((c) => c.section_id === sectionId)
              .map((criterion) => (
                <li key={criterion.criterion_id} className="flex gap-3 rounded-md border border-slate-200 p-3">
                  {criterion.met ? (
                    <CircleCheck className="mt-0.5 size-5 shrink-0 text-emerald-700" aria-hidden />
                  ) : (
                    <CircleX className="mt-0.5 size-5 shrink-0 text-red-700" aria-hidden />
                  )}
                  <div>
                    <p className="font-medium">
                      {criterion.title}:{" "}
                      <span className={criterion.met ? "text-emerald-800" : "text-red-800"}>
                        {criterion.met ? "Met" : "Not met"}
                      </span>
                    </p>
                    {criterion.comment && <p className="mt-1 whitespace-pre-wrap text-slate-800">{criterion.comment}</p>}
                  </div>
                </li>
              ))}
          </ul>
        </div>
      ))}
    </div>
  )
}

/** The sections with at least one unmet criterion: the ones a resubmission may change. */
export function failedSections(rubric: MarkedRubric | null | undefined): Set<string> {
  return new Set((rubric?.criteria ?? []).filter((c) => !c.met).map((c) => c.section_id))
}
