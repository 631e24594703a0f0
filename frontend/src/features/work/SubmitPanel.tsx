import { useId } from "react"

import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Checkbox, Label } from "@/components/ui/field"

import type { Gate } from "./submit-gate"

/** Progress of the required tasks, the terms, and "Submit for review". */
export function SubmitPanel({
  gate,
  agreed,
  onAgreedChange,
  onSubmit,
  submitting,
  failure,
}: {
  gate: Gate
  agreed: boolean
  onAgreedChange: (agreed: boolean) => void
  onSubmit: () => void
  submitting: boolean
  failure: string | null
}) {
  const termsId = useId()
  return (
    <Card aria-labelledby={`${termsId}-heading`}>
      <h2 id={`${termsId}-heading`} className="text-lg font-semibold">
        Submit for review
      </h2>
      <div className="mt-3">
        <label htmlFor={`${termsId}-progress`} className="text-sm text-slate-800">
          {gate.answered} of {gate.required} required tasks answered
        </label>
        <progress
          id={`${termsId}-progress`}
          className="mt-1 block h-2 w-full accent-brand-700"
          max={Math.max(gate.required, 1)}
          value={gate.answered}
        />
      </div>
      {gate.missing.length > 0 && (
        <div className="mt-3 text-sm text-slate-800">
          Still to answer:
          <ul className="mt-1 list-disc pl-5">
            {gate.missing.map((task) => (
              <li key={task.id}>{task.prompt}</li>
            ))}
          </ul>
        </div>
      )}
      {gate.unsaved && (
        <Alert tone="warning" className="mt-3">
          An answer is not saved: resolve the message under it first.
        </Alert>
      )}
      <p className="mt-4 text-sm text-slate-800">
        Edits cannot be made after the micro-credential has been submitted for review. The evaluator approves it or
        requests a resubmission within 14 days.
      </p>
      <div className="mt-3 flex items-center gap-3">
        <Checkbox id={termsId} checked={agreed} onCheckedChange={(value) => onAgreedChange(value === true)} />
        <Label htmlFor={termsId}>I agree to the terms and conditions</Label>
      </div>
      {failure && (
        <Alert tone="danger" role="alert" className="mt-3">
          {failure}
        </Alert>
      )}
      <Button
        className="mt-4"
        disabled={!gate.ready || submitting}
        aria-describedby={gate.ready ? undefined : `${termsId}-why`}
        onClick={onSubmit}
      >
        {submitting ? "Submitting…" : "Submit for review"}
      </Button>
      {!gate.ready && (
        <p id={`${termsId}-why`} className="mt-2 text-sm text-slate-700">
          {gate.missing.length > 0
            ? "Answer every required task to submit."
            : !agreed
              ? "Agree to the terms and conditions to submit."
              : ""}
        </p>
      )}
    </Card>
  )
}
