/** Unsaved answers kept in this browser until the API has acknowledged them. */

export interface Draft {
  text: string
  baseVersion: number
}

export interface DraftStore {
  load(key: string): Draft | null
  save(key: string, draft: Draft): void
  remove(key: string): void
}

const PREFIX = "microcred.draft."

export function draftKey(enrolmentId: string, taskId: string): string {
  return `${enrolmentId}/${taskId}`
}

/** Drafts in localStorage: they outlive a reload, a closed tab and an expired session. */
export const browserDrafts: DraftStore = {
  load(key) {
    try {
      const raw = localStorage.getItem(PREFIX + key)
      return raw ? (JSON.parse(raw) as Draft) : null
    } catch {
      return null
    }
  },
  save(key, draft) {
    try {
      localStorage.setItem(PREFIX + key, JSON.stringify(draft))
    } catch {
      // Storage full or refused (private mode): the save to the API still happens.
    }
  },
  remove(key) {
    localStorage.removeItem(PREFIX + key)
  },
}
