import { FieldError, Input, Label, Textarea } from "@/components/ui/field"

import type { CredentialForm, FieldErrors, FieldName } from "./credential-form"

interface FieldSpec {
  label: string
  hint?: string
  control?: "line" | "text" | "code"
  numeric?: boolean
}

/** Each field of the document, in the order of the form (the first refused one takes the focus). */
const FIELDS: Record<FieldName, FieldSpec> = {
  id: { label: "Id", hint: "Letters, digits, . _ ~ - (at most 64). Each version has an id of its own." },
  title: { label: "Title" },
  summary: { label: "Summary", control: "text" },
  priceAmount: { label: "Price", hint: "In the currency's minor unit: 9900 is $99.00.", numeric: true },
  priceCurrency: { label: "Price currency", hint: "An ISO 4217 code, such as usd or eur." },
  resubmissionAmount: { label: "Resubmission price", hint: "In the currency's minor unit.", numeric: true },
  resubmissionCurrency: { label: "Resubmission price currency" },
  communityId: { label: "Community id", hint: "Leave both empty for no community." },
  communityName: { label: "Community name" },
  submissionWindow: { label: "Submission window", hint: "ISO 8601 duration from the purchase, e.g. P10M." },
  reviewWindow: { label: "Review window", hint: "ISO 8601 duration from the submission, e.g. P14D." },
  paymentWindow: { label: "Payment window", hint: "How long a checkout stays open: between PT30M and PT24H." },
  reminders: { label: "Reminders before the due date", hint: "Durations, separated by commas: P30D, P7D." },
  evaluatorReminder: { label: "Evaluator reminder before the review is due", hint: "Shorter than the review window, e.g. P3D." },
  sections: {
    label: "Sections",
    hint: "A JSON list of sections, each with id, title, guidance, resources, tasks (id, prompt, required) and rubric (id, title, description).",
    control: "code",
  },
}

const GROUPS: { legend: string; fields: FieldName[]; columns?: boolean }[] = [
  { legend: "The credential", fields: ["id", "title", "summary"] },
  { legend: "Prices", fields: ["priceAmount", "priceCurrency", "resubmissionAmount", "resubmissionCurrency"], columns: true },
  { legend: "Community (optional)", fields: ["communityId", "communityName"], columns: true },
  {
    legend: "Policies",
    fields: ["submissionWindow", "reviewWindow", "paymentWindow", "reminders", "evaluatorReminder"],
    columns: true,
  },
  { legend: "Sections, tasks and rubric", fields: ["sections"] },
]

export const FIELD_ORDER: FieldName[] = GROUPS.flatMap((g) => g.fields)

/** The document's fields, grouped, each with its hint and the API's messages under it. */
export function EditorFields({
  idPrefix,
  form,
  errors,
  onChange,
}: {
  idPrefix: string
  form: CredentialForm
  errors: FieldErrors
  onChange: (name: FieldName, value: string) => void
}) {
  return (
    <>
      {GROUPS.map((group) => (
        <fieldset key={group.legend} className="rounded-lg border border-slate-200 bg-white p-5">
          <legend className="px-1 text-lg font-semibold">{group.legend}</legend>
          <div className={group.columns ? "grid gap-4 sm:grid-cols-2" : "space-y-4"}>
            {group.fields.map((name) => (
              <Field
                key={name}
                id={`${idPrefix}-${name}`}
                spec={FIELDS[name]}
                value={form[name]}
                messages={errors[name] ?? []}
                onChange={(value) => onChange(name, value)}
              />
            ))}
          </div>
        </fieldset>
      ))}
    </>
  )
}

function Field({
  id,
  spec,
  value,
  messages,
  onChange,
}: {
  id: string
  spec: FieldSpec
  value: string
  messages: string[]
  onChange: (value: string) => void
}) {
  const describedBy = [spec.hint ? `${id}-hint` : null, messages.length ? `${id}-error` : null].filter(Boolean).join(" ")
  const shared = {
    id,
    value,
    className: "mt-1",
    "aria-invalid": messages.length > 0 ? true : undefined,
    "aria-describedby": describedBy || undefined,
  }
  return (
    <div className={spec.control === "code" || spec.control === "text" ? "sm:col-span-2" : undefined}>
      <Label htmlFor={id}>{spec.label}</Label>
      {spec.control === "code" ? (
        <Textarea
          {...shared}
          className="mt-1 min-h-80 font-mono text-xs"
          spellCheck={false}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : spec.control === "text" ? (
        <Textarea {...shared} className="mt-1 min-h-20" onChange={(e) => onChange(e.target.value)} />
      ) : (
        <Input {...shared} inputMode={spec.numeric ? "numeric" : undefined} onChange={(e) => onChange(e.target.value)} />
      )}
      {spec.hint && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-slate-700">
          {spec.hint}
        </p>
      )}
      {messages.length === 1 ? (
        <FieldError id={`${id}-error`}>{messages[0]}</FieldError>
      ) : (
        messages.length > 1 && (
          <ul id={`${id}-error`} className="mt-1 list-disc space-y-1 pl-5 text-sm text-red-800">
            {messages.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        )
      )}
    </div>
  )
}
