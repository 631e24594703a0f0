import { useEffect, useState, useSyncExternalStore } from "react"

import { errorDetail, errorMessage } from "@/api/errors"
import type { EnrolmentDetail } from "@/client"
import { saveTask } from "@/client/sdk.gen"

import type { AutosaveState, SavedVersion, SaveOutcome } from "./autosave"
import { browserDrafts } from "./drafts"
import { type Saver, WorkSession } from "./work-session"

// Refusals that no retry can change; anything else (no connection, a session to renew, the
// service briefly unavailable) is retried, the text kept meanwhile as a draft.
const REFUSALS = new Set(["not_editable", "not_found", "invalid_request", "invalid_text"])

export function saverFor(enrolmentId: string): Saver {
  return async (taskId, text, baseVersion): Promise<SaveOutcome> => {
    try {
      const saved = await saveTask({
        path: { enrolment_id: enrolmentId, task_id: taskId },
        body: { response: text, base_version: baseVersion },
        throwOnError: true,
      })
      return { kind: "saved", version: saved.version, saved_at: saved.saved_at }
    } catch (error) {
      const detail = errorDetail(error)
      if (detail?.code === "version_conflict") return { kind: "conflict", current: detail.current as SavedVersion }
      if (detail && REFUSALS.has(detail.code)) return { kind: "refused", message: errorMessage(error) }
      return { kind: "failed", message: errorMessage(error) }
    }
  }
}

/** The autosaving session of an enrolment's editable tasks, rebuilt when the attempt changes. */
export function useWork(enrolment: EnrolmentDetail): {
  session: WorkSession
  states: Record<string, AutosaveState>
} {
  const tasks = enrolment.sections.flatMap((s) => s.tasks).filter((t) => t.editable)
  const identity = `${enrolment.enrolment_id}:${enrolment.attempt}:${tasks.map((t) => t.id).join(",")}`
  const [built, setBuilt] = useState(() => ({
    identity,
    session: new WorkSession(enrolment.enrolment_id, tasks, saverFor(enrolment.enrolment_id), browserDrafts),
  }))
  if (built.identity !== identity) {
    built.session.dispose()
    setBuilt({
      identity,
      session: new WorkSession(enrolment.enrolment_id, tasks, saverFor(enrolment.enrolment_id), browserDrafts),
    })
  }
  const { session } = built
  // Started in an effect (not while rendering), so React's double render in development never
  // saves a restored draft twice. Leaving the page (or the tab) saves what is pending.
  useEffect(() => {
    session.start()
    const save = () => void session.flushAll()
    window.addEventListener("pagehide", save)
    return () => {
      window.removeEventListener("pagehide", save)
      // Save what is pending, then stop: a page left behind must not retry in the background
      // (after signing in again, a new page's autosave owns these answers).
      save()
      session.dispose()
    }
  }, [session])
  const states = useSyncExternalStore(session.subscribe, session.snapshot)
  return { session, states }
}
