/**
 * The credential editor's form: its fields, how a credential document fills them, how they make
 * the document that is published, and where each of the API's refusals belongs (a 422's ``loc``
 * names the document's field: ``["body", "price", "currency"]`` goes under the price's currency,
 * ``["body", "sections", 1, "tasks", 0, "id"]`` under Sections as "Section 2 › task 1 › id").
 */
import type { CredentialDoc } from "@/client"

export interface CredentialForm {
  id: string
  title: string
  summary: string
  priceAmount: string
  priceCurrency: string
  resubmissionAmount: string
  resubmissionCurrency: string
  communityId: string
  communityName: string
  submissionWindow: string
  reviewWindow: string
  paymentWindow: string
  reminders: string
  evaluatorReminder: string
  /** The sections, with their tasks and rubric, as JSON: too nested for fields. */
  sections: string
}

export type FieldName = keyof CredentialForm
/** Where a refusal that belongs to no field is shown: above the Publish button. */
export type ErrorPlace = FieldName | "form"
export type FieldErrors = Partial<Record<ErrorPlace, string[]>>

const SECTIONS_EXAMPLE = [
  {
    id: "practice",
    title: "Practice",
    guidance: "What the member does in this section.",
    resources: [{ title: "A guide", url: "https://example.org/guide" }],
    tasks: [{ id: "practice-examples", prompt: "What the member answers.", required: true }],
    rubric: [{ id: "practice-actionable", title: "A criterion", description: "What the evaluator looks for." }],
  },
]

/** A new credential: the API's default policies, and one example section to edit. */
export const EMPTY_FORM: CredentialForm = {
  id: "",
  title: "",
  summary: "",
  priceAmount: "",
  priceCurrency: "usd",
  resubmissionAmount: "",
  resubmissionCurrency: "usd",
  communityId: "",
  communityName: "",
  submissionWindow: "P10M",
  reviewWindow: "P14D",
  paymentWindow: "PT24H",
  reminders: "P30D, P7D",
  evaluatorReminder: "P3D",
  sections: JSON.stringify(SECTIONS_EXAMPLE, null, 2),
}

/** The id a new version of ``id`` is suggested under: ``x`` → ``x-v2``, ``x-v2`` → ``x-v3``. */
export function nextVersionId(id: string): string {
  const match = /^(.*)-v(\d+)$/.exec(id)
  return match ? `${match[1] ?? ""}-v${String(Number(match[2]) + 1)}` : `${id}-v2`
}

function text(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : fallback
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

/** The form filled from a document (published, or pasted: anything missing keeps the defaults). */
export function formOf(doc: unknown): CredentialForm {
  const d = record(doc)
  const price = record(d.price)
  const resubmission = record(d.resubmission_price)
  const community = record(d.community)
  return {
    id: text(d.id),
    title: text(d.title),
    summary: text(d.summary),
    priceAmount: text(price.amount),
    priceCurrency: text(price.currency, EMPTY_FORM.priceCurrency),
    resubmissionAmount: text(resubmission.amount),
    resubmissionCurrency: text(resubmission.currency, EMPTY_FORM.resubmissionCurrency),
    communityId: text(community.id),
    communityName: text(community.name),
    submissionWindow: text(d.submission_window, EMPTY_FORM.submissionWindow),
    reviewWindow: text(d.review_window, EMPTY_FORM.reviewWindow),
    paymentWindow: text(d.payment_window, EMPTY_FORM.paymentWindow),
    reminders: Array.isArray(d.reminders_before_due)
      ? d.reminders_before_due.map((r) => text(r)).join(", ")
      : EMPTY_FORM.reminders,
    evaluatorReminder: text(d.evaluator_reminder_before, EMPTY_FORM.evaluatorReminder),
    sections: d.sections === undefined ? EMPTY_FORM.sections : JSON.stringify(d.sections, null, 2),
  }
}

/** A whole pasted document, or why it cannot fill the form. */
export function parseDocument(pasted: string): { form: CredentialForm } | { error: string } {
  let doc: unknown
  try {
    doc = JSON.parse(pasted)
  } catch (error) {
    return { error: `This is not valid JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { error: "A credential document is a JSON object: { \"id\": …, \"title\": …, \"sections\": […] }." }
  }
  return { form: formOf(doc) }
}

/** An amount typed as a whole number of the currency's minor unit, or null. */
function amount(typed: string): number | null {
  const trimmed = typed.trim()
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null
}

const AMOUNT_HELP = "Give a whole number in the currency's minor unit (cents for USD: 9900 is $99.00)."

/** The document to publish, or the fields that cannot make one (checked here before sending). */
export function documentOf(form: CredentialForm): { doc: CredentialDoc } | { errors: FieldErrors } {
  const errors: FieldErrors = {}
  let sections: unknown = null
  try {
    sections = JSON.parse(form.sections)
  } catch (error) {
    errors.sections = [`The sections are not valid JSON: ${error instanceof Error ? error.message : String(error)}`]
  }
  const price = amount(form.priceAmount)
  const resubmission = amount(form.resubmissionAmount)
  if (price === null) errors.priceAmount = [AMOUNT_HELP]
  if (resubmission === null) errors.resubmissionAmount = [AMOUNT_HELP]
  if (price === null || resubmission === null || errors.sections) return { errors }
  const community =
    form.communityId.trim() || form.communityName.trim()
      ? { id: form.communityId.trim(), name: form.communityName.trim() }
      : null
  const doc: CredentialDoc = {
    id: form.id.trim(),
    title: form.title.trim(),
    summary: form.summary,
    // The API keeps codes in lower case ("usd"); people often type them in capitals.
    price: { amount: price, currency: form.priceCurrency.trim().toLowerCase() },
    resubmission_price: { amount: resubmission, currency: form.resubmissionCurrency.trim().toLowerCase() },
    community,
    submission_window: form.submissionWindow.trim(),
    review_window: form.reviewWindow.trim(),
    payment_window: form.paymentWindow.trim(),
    reminders_before_due: form.reminders
      .split(",")
      .map((r) => r.trim())
      .filter((r) => r !== ""),
    evaluator_reminder_before: form.evaluatorReminder.trim(),
    // Sent as written: the API says where a section, task or criterion breaks a rule.
    sections: sections as CredentialDoc["sections"],
  }
  return { doc }
}

/** The document's top-level fields (and the parts of its objects) → the form's fields. */
const FIELDS: Record<string, FieldName> = {
  id: "id",
  title: "title",
  summary: "summary",
  price: "priceAmount",
  "price.amount": "priceAmount",
  "price.currency": "priceCurrency",
  resubmission_price: "resubmissionAmount",
  "resubmission_price.amount": "resubmissionAmount",
  "resubmission_price.currency": "resubmissionCurrency",
  community: "communityId",
  "community.id": "communityId",
  "community.name": "communityName",
  submission_window: "submissionWindow",
  review_window: "reviewWindow",
  payment_window: "paymentWindow",
  reminders_before_due: "reminders",
  evaluator_reminder_before: "evaluatorReminder",
  sections: "sections",
}

/** The parts of a section, as people say them. */
const SECTION_PARTS: Record<string, string> = { tasks: "task", rubric: "rubric criterion", resources: "resource" }

export type Loc = readonly (string | number)[]

/** The form field a ``loc`` belongs to ("body" stripped), or "form" when it names none. */
export function fieldOf(loc: Loc): ErrorPlace {
  const path = loc[0] === "body" ? loc.slice(1) : loc
  const [first, second] = path
  if (typeof first !== "string") return "form"
  if (first === "sections" || first === "reminders_before_due") return FIELDS[first] ?? "form"
  if (typeof second === "string") {
    const nested = FIELDS[`${first}.${second}`]
    if (nested) return nested
  }
  return FIELDS[first] ?? "form"
}

/** "Section 2 › task 1 › id" for ``["body", "sections", 1, "tasks", 0, "id"]``; "" for the list itself. */
export function sectionPath(loc: Loc): string {
  const path = (loc[0] === "body" ? loc.slice(1) : loc).slice(1)
  const words: string[] = []
  for (let i = 0; i < path.length; i++) {
    const part = path[i]
    const next = path[i + 1]
    if (i === 0 && typeof part === "number") words.push(`Section ${String(part + 1)}`)
    else if (typeof part === "string" && typeof next === "number" && part in SECTION_PARTS) {
      words.push(`${SECTION_PARTS[part] ?? part} ${String(next + 1)}`)
      i++
    } else words.push(String(part))
  }
  return words.join(" › ")
}

/** Pydantic's "Value error, prices must be y" → "Prices must be y." (a field's name kept as it is). */
export function readableMessage(msg: string): string {
  const bare = msg.replace(/^(Value error|Assertion failed), /, "").trim()
  const named = /^\w*_/.test(bare)
  const capital = named ? bare : bare.charAt(0).toUpperCase() + bare.slice(1)
  return /[.!?]$/.test(capital) ? capital : `${capital}.`
}

interface ValidationProblem {
  loc: Loc
  msg: string
}

/** The refusals of a 422 in FastAPI's shape (``{"detail": [{loc, msg, type}]}``), else null. */
export function validationProblems(error: unknown): ValidationProblem[] | null {
  if (typeof error !== "object" || error === null || !("detail" in error) || !Array.isArray(error.detail)) return null
  return (error.detail as unknown[]).flatMap((item) => {
    const problem = record(item)
    return Array.isArray(problem.loc) && typeof problem.msg === "string"
      ? [{ loc: problem.loc as Loc, msg: problem.msg }]
      : []
  })
}

/** Every message of a 422, under the field it belongs to. */
export function fieldErrors(problems: readonly ValidationProblem[]): FieldErrors {
  const errors: FieldErrors = {}
  for (const { loc, msg } of problems) {
    const field = fieldOf(loc)
    let message = readableMessage(msg)
    if (field === "sections") {
      const where = sectionPath(loc)
      if (where) message = `${where}: ${message}`
    } else if (field === "form" && loc.length > 1) {
      message = `${(loc[0] === "body" ? loc.slice(1) : loc).join(" › ")}: ${message}`
    }
    ;(errors[field] ??= []).push(message)
  }
  return errors
}
