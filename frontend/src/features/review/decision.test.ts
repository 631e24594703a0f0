import { describe, expect, it } from "vitest"

import { decisionOf } from "./decision"

const ids = ["plan-c", "reflect-e", "reflect-n"]

describe("the decision follows from the marks", () => {
  it("waits until every criterion is marked", () => {
    const d = decisionOf(ids, { "plan-c": { met: true, comment: "" } })
    expect(d).toMatchObject({ outcome: null, ready: false, unmarked: ["reflect-e", "reflect-n"] })
  })

  it("approves only when every criterion is met", () => {
    const met = Object.fromEntries(ids.map((id) => [id, { met: true, comment: "" }]))
    expect(decisionOf(ids, met)).toMatchObject({ outcome: "approved", ready: true })
  })

  it("requests a resubmission when one is not met, once that one has a comment", () => {
    const marks = {
      "plan-c": { met: true, comment: "" },
      "reflect-e": { met: false, comment: "  " },
      "reflect-n": { met: true, comment: "" },
    }
    expect(decisionOf(ids, marks)).toMatchObject({ outcome: "resubmit", ready: false, uncommented: ["reflect-e"] })
    marks["reflect-e"].comment = "Show student work."
    expect(decisionOf(ids, marks)).toMatchObject({ outcome: "resubmit", ready: true, uncommented: [] })
  })
})
