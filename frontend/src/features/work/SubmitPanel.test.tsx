import { render, screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { useState } from "react"
import { describe, expect, it, vi } from "vitest"

import type { AutosaveState } from "./autosave"
import { type GateTask, submitGate } from "./submit-gate"
import { SubmitPanel } from "./SubmitPanel"

const tasks: GateTask[] = [
  { id: "a", prompt: "Describe the unit.", required: true, response: null },
  { id: "b", prompt: "What did you learn?", required: true, response: null },
]

function Harness({ texts, onSubmit }: { texts: Record<string, string>; onSubmit: () => void }) {
  const [agreed, setAgreed] = useState(false)
  const states: Record<string, AutosaveState> = Object.fromEntries(
    Object.entries(texts).map(([id, text]) => [
      id,
      { text, baseVersion: 1, status: "saved", savedAt: null, message: null, conflict: null },
    ]),
  )
  return (
    <SubmitPanel
      gate={submitGate(tasks, states, agreed)}
      agreed={agreed}
      onAgreedChange={setAgreed}
      onSubmit={onSubmit}
      submitting={false}
      failure={null}
    />
  )
}

describe("Submit for review", () => {
  it("stays disabled until every required task is answered, naming the missing ones", async () => {
    render(<Harness texts={{ a: "done", b: "" }} onSubmit={vi.fn()} />)
    expect(screen.getByText("1 of 2 required tasks answered")).toBeInTheDocument()
    expect(screen.getByRole("listitem")).toHaveTextContent("What did you learn?")
    await userEvent.click(screen.getByRole("checkbox", { name: "I agree to the terms and conditions" }))
    expect(screen.getByRole("button", { name: "Submit for review" })).toBeDisabled()
  })

  it("is enabled once the terms are agreed, and submits", async () => {
    const onSubmit = vi.fn()
    render(<Harness texts={{ a: "done", b: "done too" }} onSubmit={onSubmit} />)
    const button = screen.getByRole("button", { name: "Submit for review" })
    expect(button).toBeDisabled()
    expect(button).toHaveAccessibleDescription("Agree to the terms and conditions to submit.")
    await userEvent.click(screen.getByRole("checkbox", { name: "I agree to the terms and conditions" }))
    expect(button).toBeEnabled()
    await userEvent.click(button)
    expect(onSubmit).toHaveBeenCalledOnce()
  })
})
