import { render, screen, within } from "@testing-library/react"
import { describe, expect, it } from "vitest"

import type { MarkedRubric } from "@/client"

import { failedSections, MarkedRubricView } from "./MarkedRubricView"

const rubric: MarkedRubric = {
  attempt: 1,
  decision: "resubmit",
  feedback: "Close! Show the students' work.",
  criteria: [
    { criterion_id: "plan-c", section_id: "plan", title: "Coherent plan", met: true, comment: "" },
    { criterion_id: "reflect-e", section_id: "reflect", title: "Evidence", met: false, comment: "Show student work." },
    { criterion_id: "reflect-n", section_id: "reflect", title: "Next steps", met: true, comment: "Good." },
  ],
}

describe("the marked rubric", () => {
  it("shows each criterion's title, met or not in words, and the evaluator's comment, by section", () => {
    render(<MarkedRubricView rubric={rubric} sectionTitles={{ plan: "Plan", reflect: "Reflect" }} />)
    expect(screen.getByRole("heading", { name: "Plan" })).toBeInTheDocument()
    const items = screen.getAllByRole("listitem")
    expect(items).toHaveLength(3)
    expect(within(items[0] as HTMLElement).getByText("Met")).toBeInTheDocument()
    expect(within(items[1] as HTMLElement).getByText("Not met")).toBeInTheDocument()
    expect(within(items[1] as HTMLElement).getByText("Show student work.")).toBeInTheDocument()
    expect(screen.getByText("Close! Show the students' work.")).toBeInTheDocument()
  })

  it("names the sections that did not meet the standard", () => {
    expect([...failedSections(rubric)]).toEqual(["reflect"])
    expect(failedSections(null).size).toBe(0)
  })
})
