/**
 * The evaluator's decision follows from the marks: "Approve" only when every criterion is met,
 * otherwise "Request to resubmit", which needs a comment on each criterion not met (the member
 * reads it to know what to rework). Pure, so the rule is tested on its own.
 */

export interface CriterionMark {
  met: boolean | null
  comment: string
}

export type Marks = Record<string, CriterionMark>

export interface Decision {
  outcome: "approved" | "resubmit" | null
  /** Criteria not marked yet. */
  unmarked: string[]
  /** Criteria not met that have no comment. */
  uncommented: string[]
  ready: boolean
}

export function decisionOf(criterionIds: string[], marks: Marks): Decision {
  const unmarked = criterionIds.filter((id) => marks[id]?.met == null)
  const unmet = criterionIds.filter((id) => marks[id]?.met === false)
  const uncommented = unmet.filter((id) => !marks[id]?.comment.trim())
  const outcome = unmarked.length > 0 ? null : unmet.length > 0 ? "resubmit" : "approved"
  return { outcome, unmarked, uncommented, ready: outcome !== null && uncommented.length === 0 }
}
