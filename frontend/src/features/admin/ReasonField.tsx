import { type Ref, useId } from "react"

import { FieldError, Input, Label } from "@/components/ui/field"

/** The reason every repair asks for (required; the timeline records it with who gave it). */
export function ReasonField({
  value,
  onChange,
  error,
  label = "Reason",
  disabled,
  inputRef,
}: {
  value: string
  onChange: (value: string) => void
  error?: string | null
  label?: string
  disabled?: boolean
  inputRef?: Ref<HTMLInputElement>
}) {
  const id = useId()
  return (
    <div>
      <Label htmlFor={id}>{label} (required)</Label>
      <Input
        id={id}
        ref={inputRef}
        className="mt-1"
        value={value}
        required
        maxLength={500}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      <FieldError id={`${id}-error`}>{error}</FieldError>
    </div>
  )
}

/** What to say when a reason is left blank. */
export const REASON_NEEDED = "Give a reason: it is recorded with the change."
