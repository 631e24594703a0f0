import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { AutosaveController, type AutosaveState, type SaveOutcome } from "./autosave"
import type { Draft, DraftStore } from "./drafts"

function memoryDrafts(initial: Record<string, Draft> = {}): DraftStore & { all: Map<string, Draft> } {
  const all = new Map(Object.entries(initial))
  return {
    all,
    load: (key) => all.get(key) ?? null,
    save: (key, draft) => void all.set(key, draft),
    remove: (key) => void all.delete(key),
  }
}

function controller(
  save: (text: string, base: number) => Promise<SaveOutcome>,
  { drafts = memoryDrafts(), response = null as string | null, version = null as number | null } = {},
) {
  const states: AutosaveState[] = []
  const c = new AutosaveController({
    key: "e1/t1",
    initial: { response, version, saved_at: version ? "2026-12-01T10:00:00Z" : null },
    save,
    drafts,
    onChange: (s) => states.push(s),
    delayMs: 800,
    retryMs: 5_000,
  })
  c.start()
  return { c, states, drafts }
}

let version = 0
const saved = (): Promise<SaveOutcome> => Promise.resolve({ kind: "saved", version: ++version, saved_at: "2026-12-07T10:00:00Z" })

beforeEach(() => {
  vi.useFakeTimers()
  version = 0
})
afterEach(() => vi.useRealTimers())

describe("autosave", () => {
  it("saves once after the member pauses, with the version the text was edited from", async () => {
    const save = vi.fn(saved)
    const { c } = controller(save)
    c.edit("a")
    c.edit("ab")
    c.edit("abc")
    await vi.advanceTimersByTimeAsync(799)
    expect(save).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(save).toHaveBeenCalledExactlyOnceWith("abc", 0)
    expect(c.state.status).toBe("saved")
    expect(c.state.baseVersion).toBe(1)
  })

  it("keeps typed text as a draft until the save is acknowledged", async () => {
    let release: (o: SaveOutcome) => void = () => undefined
    const { c, drafts } = controller(() => new Promise((resolve) => (release = resolve)))
    c.edit("unsaved")
    expect(drafts.all.get("e1/t1")).toEqual({ text: "unsaved", baseVersion: 0 })
    await vi.advanceTimersByTimeAsync(800)
    expect(c.state.status).toBe("saving")
    release({ kind: "saved", version: 1, saved_at: "2026-12-07T10:00:00Z" })
    await vi.runOnlyPendingTimersAsync()
    expect(drafts.all.has("e1/t1")).toBe(false)
  })

  it("never runs two saves at once: text typed during a save is saved after it", async () => {
    const calls: [string, number][] = []
    let release: () => void = () => undefined
    const save = (text: string, base: number): Promise<SaveOutcome> => {
      calls.push([text, base])
      return new Promise((resolve) => {
        release = () => resolve({ kind: "saved", version: calls.length, saved_at: "2026-12-07T10:00:00Z" })
      })
    }
    const { c } = controller(save)
    c.edit("first")
    await vi.advanceTimersByTimeAsync(800)
    c.edit("first and more")
    await vi.advanceTimersByTimeAsync(800)
    expect(calls).toEqual([["first", 0]])
    release()
    await vi.advanceTimersByTimeAsync(800)
    expect(calls).toEqual([
      ["first", 0],
      ["first and more", 1],
    ])
    release()
    await vi.runOnlyPendingTimersAsync()
    expect(c.state).toMatchObject({ status: "saved", text: "first and more", baseVersion: 2 })
  })

  it("shows a conflict instead of overwriting a newer version, and lets the member keep theirs", async () => {
    const current = { version: 4, response: "from the other tab", saved_at: "2026-12-07T09:00:00Z" }
    const save = vi
      .fn<(text: string, base: number) => Promise<SaveOutcome>>()
      .mockResolvedValueOnce({ kind: "conflict", current })
      .mockResolvedValueOnce({ kind: "saved", version: 5, saved_at: "2026-12-07T10:00:00Z" })
    const { c, drafts } = controller(save, { response: "old", version: 3 })
    c.edit("mine")
    await vi.advanceTimersByTimeAsync(800)
    expect(c.state).toMatchObject({ status: "conflict", text: "mine", conflict: current })
    expect(drafts.all.get("e1/t1")?.text).toBe("mine") // not lost while the member decides
    c.keepMine()
    await vi.advanceTimersByTimeAsync(0)
    expect(save).toHaveBeenLastCalledWith("mine", 4)
    expect(c.state).toMatchObject({ status: "saved", baseVersion: 5, conflict: null })
  })

  it("can take the newer version instead, dropping the draft", async () => {
    const current = { version: 4, response: "theirs", saved_at: "2026-12-07T09:00:00Z" }
    const { c, drafts } = controller(() => Promise.resolve({ kind: "conflict", current }), { version: 3, response: "old" })
    c.edit("mine")
    await vi.advanceTimersByTimeAsync(800)
    c.takeTheirs()
    expect(c.state).toMatchObject({ status: "saved", text: "theirs", baseVersion: 4 })
    expect(drafts.all.has("e1/t1")).toBe(false)
  })

  it("says why a refused save was refused, and stops editing", async () => {
    const { c } = controller(() => Promise.resolve({ kind: "refused", message: "This task cannot be edited now." }))
    c.edit("late")
    await vi.advanceTimersByTimeAsync(800)
    expect(c.state).toMatchObject({ status: "refused", message: "This task cannot be edited now." })
    c.edit("later")
    expect(c.state.text).toBe("late")
  })

  it("retries a save that failed for want of a connection", async () => {
    const save = vi
      .fn<(text: string, base: number) => Promise<SaveOutcome>>()
      .mockResolvedValueOnce({ kind: "failed", message: "offline" })
      .mockImplementation(saved)
    const { c } = controller(save)
    c.edit("x")
    await vi.advanceTimersByTimeAsync(800)
    expect(c.state.status).toBe("failed")
    await vi.advanceTimersByTimeAsync(5_000)
    expect(save).toHaveBeenCalledTimes(2)
    expect(c.state.status).toBe("saved")
  })

  it("stops retrying once disposed (the page was left), keeping the draft for the next one", async () => {
    const save = vi.fn(() => Promise.resolve<SaveOutcome>({ kind: "failed", message: "signed out" }))
    const { c, drafts } = controller(save)
    c.edit("typed as the session ended")
    void c.flush()
    c.dispose()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(save).toHaveBeenCalledOnce()
    expect(drafts.all.get("e1/t1")?.text).toBe("typed as the session ended")
  })

  it("restores an unsaved draft after a reload and saves it", async () => {
    const drafts = memoryDrafts({ "e1/t1": { text: "typed before the reload", baseVersion: 2 } })
    const save = vi.fn(saved)
    const { c } = controller(save, { drafts, response: "saved text", version: 2 })
    expect(c.state).toMatchObject({ text: "typed before the reload", status: "dirty" })
    await vi.advanceTimersByTimeAsync(0)
    expect(save).toHaveBeenCalledWith("typed before the reload", 2)
  })

  it("treats a draft older than the saved version as a conflict", () => {
    const drafts = memoryDrafts({ "e1/t1": { text: "typed on version 1", baseVersion: 1 } })
    const { c } = controller(saved, { drafts, response: "saved elsewhere", version: 2 })
    expect(c.state).toMatchObject({ status: "conflict", text: "typed on version 1" })
    expect(c.state.conflict?.response).toBe("saved elsewhere")
  })

  it("flush saves at once and reports whether everything is saved", async () => {
    const { c } = controller(saved)
    c.edit("now")
    await expect(c.flush()).resolves.toBe(true)
    expect(c.state.status).toBe("saved")
  })
})
