import { describe, expect, it } from "vitest"

import type { AutosaveState } from "./autosave"
import { type GateTask, submitGate } from "./submit-gate"

const tasks: GateTask[] = [
  { id: "a", prompt: "Describe the unit.", required: true, response: null },
  { id: "b", prompt: "Anything else?", required: false, response: null },
  { id: "c", prompt: "What did you learn?", required: true, response: "kept from attempt 1" },
]

function state(text: string, status: AutosaveState["status"] = "saved"): AutosaveState {
  return { text, baseVersion: 1, status, savedAt: null, message: null, conflict: null }
}

describe("submit gate", () => {
  it("needs every required task answered and the terms agreed", () => {
    expect(submitGate(tasks, { a: state("") }, true)).toMatchObject({ ready: false, answered: 1, required: 2 })
    expect(submitGate(tasks, { a: state("   ") }, true).missing.map((t) => t.id)).toEqual(["a"])
    expect(submitGate(tasks, { a: state("done") }, false).ready).toBe(false)
    expect(submitGate(tasks, { a: state("done") }, true)).toMatchObject({ ready: true, answered: 2 })
  })

  it("counts read-only tasks by their saved answer", () => {
    const withoutC = [tasks[0], { ...tasks[2], response: null }] as GateTask[]
    expect(submitGate(withoutC, { a: state("done") }, true).missing.map((t) => t.id)).toEqual(["c"])
  })

  it("counts a task answered by a file alone, as the server does", () => {
    const withFile = [{ ...tasks[0], attachments: [{ id: "f1" }] }, tasks[2]] as GateTask[]
    expect(submitGate(withFile, { a: state("") }, true)).toMatchObject({ ready: true, answered: 2 })
  })

  it("waits while an answer is in conflict or was refused", () => {
    expect(submitGate(tasks, { a: state("done", "conflict") }, true)).toMatchObject({ ready: false, unsaved: true })
    expect(submitGate(tasks, { a: state("done", "refused") }, true).ready).toBe(false)
  })

  it("lets typed but unsaved text through (submitting saves it first)", () => {
    expect(submitGate(tasks, { a: state("done", "dirty") }, true).ready).toBe(true)
  })
})
