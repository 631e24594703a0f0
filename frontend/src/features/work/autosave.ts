/**
 * Autosave of one task's answer: debounced saves, one at a time, each naming the version the
 * text was edited from, so a save made from stale text is refused (409 version_conflict) rather
 * than overwriting what another tab saved. Until a save is acknowledged, the text is kept in
 * this browser as a draft, so a reload, a lost connection or an expired session loses nothing.
 *
 * No React here: the controller is driven by ``edit``/``flush`` and reports through
 * ``onChange``; ``useWork`` binds it to components, and the tests drive it with fake timers.
 */
import type { DraftStore } from "./drafts"

export interface SavedVersion {
  version: number
  response: string
  saved_at: string
}

export type SaveOutcome =
  | { kind: "saved"; version: number; saved_at: string }
  | { kind: "conflict"; current: SavedVersion }
  | { kind: "refused"; message: string }
  | { kind: "failed"; message: string }

export type SaveStatus = "saved" | "dirty" | "saving" | "failed" | "conflict" | "refused"

export interface AutosaveState {
  text: string
  /** The saved version the text was edited from (0: none saved yet). */
  baseVersion: number
  status: SaveStatus
  savedAt: string | null
  message: string | null
  /** The newer version saved elsewhere, while a conflict waits for the member's choice. */
  conflict: SavedVersion | null
}

export interface AutosaveOptions {
  key: string
  initial: { response: string | null; version: number | null; saved_at: string | null }
  save: (text: string, baseVersion: number) => Promise<SaveOutcome>
  drafts: DraftStore
  onChange: (state: AutosaveState) => void
  delayMs?: number
  retryMs?: number
}

export const SAVE_DELAY_MS = 800
export const RETRY_MS = 5_000

export class AutosaveController {
  state: AutosaveState
  private readonly options: Required<AutosaveOptions>
  private timer: ReturnType<typeof setTimeout> | null = null
  private inFlight: Promise<void> | null = null
  private disposed = false

  constructor(options: AutosaveOptions) {
    this.options = { delayMs: SAVE_DELAY_MS, retryMs: RETRY_MS, ...options }
    const { initial, drafts, key } = this.options
    const server = { text: initial.response ?? "", version: initial.version ?? 0 }
    this.state = {
      text: server.text,
      baseVersion: server.version,
      status: "saved",
      savedAt: initial.saved_at,
      message: null,
      conflict: null,
    }
    const draft = drafts.load(key)
    if (draft === null || draft.text === server.text) {
      drafts.remove(key)
    } else if (draft.baseVersion === server.version) {
      // Typed here, never saved (a reload, a lost connection, an expired session): save it now.
      this.state = { ...this.state, text: draft.text, status: "dirty" }
    } else {
      // Saved elsewhere since this draft was typed: the member chooses which to keep.
      this.state = {
        ...this.state,
        text: draft.text,
        baseVersion: draft.baseVersion,
        status: "conflict",
        conflict: { version: server.version, response: server.text, saved_at: initial.saved_at ?? "" },
        message: null,
      }
    }
  }

  /** Begin: a draft restored from this browser is saved at once. */
  start(): void {
    this.disposed = false
    if (this.state.status === "dirty" && this.timer === null && !this.inFlight) this.schedule(0)
  }

  /** The member typed: keep the draft, save after a pause. */
  edit(text: string): void {
    if (this.disposed || this.state.status === "refused") return
    const status = this.state.status === "conflict" ? "conflict" : "dirty"
    this.update({ text, status, message: null })
    this.options.drafts.save(this.options.key, { text, baseVersion: this.state.baseVersion })
    if (status === "dirty") this.schedule(this.options.delayMs)
  }

  /** Save now if anything is unsaved; resolves whether everything typed is saved. */
  async flush(): Promise<boolean> {
    for (let round = 0; round < 3; round++) {
      this.cancelTimer()
      while (this.inFlight) await this.inFlight
      if (this.state.status !== "dirty" && this.state.status !== "failed") break
      await this.run()
    }
    return this.state.status === "saved"
  }

  /** Resolve a conflict by saving this text over the newer version. */
  keepMine(): void {
    const conflict = this.state.conflict
    if (!conflict) return
    this.update({ baseVersion: conflict.version, conflict: null, status: "dirty", message: null })
    this.options.drafts.save(this.options.key, { text: this.state.text, baseVersion: conflict.version })
    this.schedule(0)
  }

  /** Resolve a conflict by taking the newer version and dropping this text. */
  takeTheirs(): void {
    const conflict = this.state.conflict
    if (!conflict) return
    this.options.drafts.remove(this.options.key)
    this.update({
      text: conflict.response,
      baseVersion: conflict.version,
      savedAt: conflict.saved_at,
      conflict: null,
      status: "saved",
      message: null,
    })
  }

  /** Stop: no more saves or retries start (one in flight still completes). ``start`` resumes. */
  dispose(): void {
    this.disposed = true
    this.cancelTimer()
  }

  private schedule(delay: number): void {
    this.cancelTimer()
    this.timer = setTimeout(() => {
      this.timer = null
      void this.run()
    }, delay)
  }

  private cancelTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private run(): Promise<void> {
    if (this.inFlight) return this.inFlight // the save that follows it picks up the newer text
    this.inFlight = this.saveOnce().finally(() => {
      this.inFlight = null
    })
    return this.inFlight
  }

  private async saveOnce(): Promise<void> {
    const { text, baseVersion } = this.state
    this.update({ status: "saving", message: null })
    const outcome = await this.options.save(text, baseVersion)
    if (this.disposed) return
    const changedMeanwhile = this.state.text !== text
    switch (outcome.kind) {
      case "saved":
        this.update({
          baseVersion: outcome.version,
          savedAt: outcome.saved_at,
          status: changedMeanwhile ? "dirty" : "saved",
        })
        if (changedMeanwhile) {
          this.options.drafts.save(this.options.key, { text: this.state.text, baseVersion: outcome.version })
          this.schedule(this.options.delayMs)
        } else {
          this.options.drafts.remove(this.options.key)
        }
        return
      case "conflict":
        this.update({ status: "conflict", conflict: outcome.current })
        return
      case "refused":
        this.update({ status: "refused", message: outcome.message })
        return
      case "failed":
        this.update({ status: "failed", message: outcome.message })
        this.schedule(this.options.retryMs)
        return
    }
  }

  private update(change: Partial<AutosaveState>): void {
    this.state = { ...this.state, ...change }
    this.options.onChange(this.state)
  }
}
