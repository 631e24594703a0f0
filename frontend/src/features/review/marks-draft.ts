/** The evaluator's marks kept in this browser until the decision is sent: a review can take an
 *  afternoon, and a reload or an expired session must not cost the comments written. */
import type { Marks } from "./decision"

export interface MarksDraft {
  marks: Marks
  feedback: string
}

const key = (enrolmentId: string, attempt: number) => `microcred.marks.${enrolmentId}.${String(attempt)}`

export function loadMarks(enrolmentId: string, attempt: number): MarksDraft {
  try {
    const raw = localStorage.getItem(key(enrolmentId, attempt))
    if (raw) return JSON.parse(raw) as MarksDraft
  } catch {
    // unreadable: start afresh
  }
  return { marks: {}, feedback: "" }
}

export function saveMarks(enrolmentId: string, attempt: number, draft: MarksDraft): void {
  try {
    localStorage.setItem(key(enrolmentId, attempt), JSON.stringify(draft))
  } catch {
    // storage full or refused: the marks stay on screen
  }
}

export function forgetMarks(enrolmentId: string, attempt: number): void {
  localStorage.removeItem(key(enrolmentId, attempt))
}
