import { describe, expect, it } from "vitest"

import {
  documentOf,
  EMPTY_FORM,
  fieldErrors,
  fieldOf,
  formOf,
  nextVersionId,
  parseDocument,
  sectionPath,
  validationProblems,
} from "./credential-form"

describe("each refusal's loc names the field it is shown under", () => {
  it("maps top-level fields, without the body", () => {
    expect(fieldOf(["body", "payment_window"])).toBe("paymentWindow")
    expect(fieldOf(["body", "id"])).toBe("id")
    expect(fieldOf(["body", "evaluator_reminder_before"])).toBe("evaluatorReminder")
  })

  it("maps the parts of the prices and the community", () => {
    expect(fieldOf(["body", "price", "currency"])).toBe("priceCurrency")
    expect(fieldOf(["body", "price", "amount"])).toBe("priceAmount")
    expect(fieldOf(["body", "resubmission_price", "currency"])).toBe("resubmissionCurrency")
    expect(fieldOf(["body", "price"])).toBe("priceAmount")
    expect(fieldOf(["body", "community", "name"])).toBe("communityName")
  })

  it("puts every error inside the sections and the reminders under their one field", () => {
    expect(fieldOf(["body", "sections", 1, "tasks", 0, "id"])).toBe("sections")
    expect(fieldOf(["body", "sections"])).toBe("sections")
    expect(fieldOf(["body", "reminders_before_due", 1])).toBe("reminders")
  })

  it("keeps what names no field for the form as a whole", () => {
    expect(fieldOf(["body"])).toBe("form")
    expect(fieldOf(["body", "colour"])).toBe("form")
  })
})

describe("a place inside the sections reads as people say it", () => {
  it("counts from one and names the parts", () => {
    expect(sectionPath(["body", "sections", 1, "tasks", 0, "id"])).toBe("Section 2 › task 1 › id")
    expect(sectionPath(["body", "sections", 0, "rubric", 2, "title"])).toBe("Section 1 › rubric criterion 3 › title")
    expect(sectionPath(["body", "sections", 0, "resources", 0, "url"])).toBe("Section 1 › resource 1 › url")
    expect(sectionPath(["body", "sections", 3])).toBe("Section 4")
    expect(sectionPath(["body", "sections"])).toBe("")
  })
})

describe("a 422 becomes messages under fields", () => {
  const body = {
    detail: [
      { loc: ["body", "price", "currency"], msg: "Value error, 'zzz' is not an ISO 4217 currency code", type: "value_error" },
      { loc: ["body", "payment_window"], msg: "Value error, payment_window must be between PT30M and PT24H", type: "value_error" },
      { loc: ["body", "sections", 1, "tasks", 0, "id"], msg: "Value error, task ids must be unique within the credential: a", type: "value_error" },
      { loc: ["body", "reminders_before_due", 0], msg: "Value error, reminder P1Y must be shorter than the submission window", type: "value_error" },
      { loc: ["body", "colour"], msg: "Extra inputs are not permitted", type: "extra_forbidden" },
    ],
  }

  it("reads FastAPI's body, and nothing else", () => {
    expect(validationProblems(body)).toHaveLength(5)
    expect(validationProblems({ detail: { code: "already_exists", message: "exists" } })).toBeNull()
    expect(validationProblems(new Error("offline"))).toBeNull()
  })

  it("writes each message as a sentence, with where it is when the field is a list", () => {
    expect(fieldErrors(validationProblems(body) ?? [])).toEqual({
      priceCurrency: ["'zzz' is not an ISO 4217 currency code."],
      paymentWindow: ["payment_window must be between PT30M and PT24H."],
      sections: ["Section 2 › task 1 › id: Task ids must be unique within the credential: a."],
      reminders: ["Reminder P1Y must be shorter than the submission window."],
      form: ["colour: Extra inputs are not permitted."],
    })
  })
})

describe("the form and the document", () => {
  const doc = {
    id: "feedback",
    title: "Feedback",
    summary: "Give feedback.",
    price: { amount: 7900, currency: "usd" },
    resubmission_price: { amount: 1900, currency: "usd" },
    community: null,
    submission_window: "P10M",
    review_window: "P14D",
    payment_window: "PT2H",
    reminders_before_due: ["P30D", "P7D"],
    evaluator_reminder_before: "P3D",
    sections: [{ id: "s", title: "S", tasks: [{ id: "t", prompt: "P" }], rubric: [{ id: "c", title: "C" }] }],
  }

  it("fills the form from a document and makes the same document back", () => {
    const form = formOf(doc)
    expect(form).toMatchObject({ priceAmount: "7900", reminders: "P30D, P7D", communityId: "", paymentWindow: "PT2H" })
    expect(documentOf(form)).toEqual({ doc })
  })

  it("sends a community only when one is given", () => {
    const form = { ...formOf(doc), communityId: "c", communityName: "Circle" }
    expect(documentOf(form)).toMatchObject({ doc: { community: { id: "c", name: "Circle" } } })
  })

  it("refuses amounts that are not whole numbers, and sections that are not JSON, before sending", () => {
    const result = documentOf({ ...EMPTY_FORM, priceAmount: "79.00", resubmissionAmount: "1900", sections: "[{" })
    const errors = "errors" in result ? result.errors : {}
    expect(errors.priceAmount?.[0]).toMatch(/whole number/)
    expect(errors.resubmissionAmount).toBeUndefined()
    expect(errors.sections?.[0]).toMatch(/not valid JSON/)
  })

  it("parses a pasted document, or says why not", () => {
    expect(parseDocument(JSON.stringify(doc))).toEqual({ form: formOf(doc) })
    const errorOf = (pasted: string) => {
      const parsed = parseDocument(pasted)
      return "error" in parsed ? parsed.error : null
    }
    expect(errorOf("{ id: 1")).toMatch(/not valid JSON/)
    expect(errorOf("[1, 2]")).toMatch(/JSON object/)
  })

  it("suggests the next version's id", () => {
    expect(nextVersionId("feedback-for-learning")).toBe("feedback-for-learning-v2")
    expect(nextVersionId("feedback-v2")).toBe("feedback-v3")
  })
})
