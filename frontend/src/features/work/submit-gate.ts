/**
 * Whether the member may select "Submit for review": every required task answered (in text, or
 * with a file), the terms agreed, nothing typed left unsaved. Pure, so the rule is tested on its own.
 */
import type { AutosaveState } from "./autosave"

export interface GateTask {
  id: string
  prompt: string
  required: boolean
  /** The answer as saved on the server (for tasks that are not being edited). */
  response: string | null
  /** Its verified files: one answers the task as text does (the server's rule). */
  attachments?: readonly unknown[]
}

export interface Gate {
  ready: boolean
  answered: number
  required: number
  missing: GateTask[]
  unsaved: boolean
}

export function isAnswered(text: string | null | undefined): boolean {
  return Boolean(text && text.trim())
}

export function submitGate(tasks: GateTask[], states: Record<string, AutosaveState>, agreed: boolean): Gate {
  const required = tasks.filter((t) => t.required)
  const textOf = (t: GateTask) => states[t.id]?.text ?? t.response
  const missing = required.filter((t) => !isAnswered(textOf(t)) && !t.attachments?.length)
  const unsaved = Object.values(states).some((s) => s.status === "conflict" || s.status === "refused")
  return {
    ready: agreed && missing.length === 0 && !unsaved,
    answered: required.length - missing.length,
    required: required.length,
    missing,
    unsaved,
  }
}
