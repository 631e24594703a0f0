import { useMutation } from "@tanstack/react-query"
import { type ComponentProps, type SubmitEvent, useEffect, useId, useRef, useState } from "react"
import { toast } from "sonner"

import { errorMessage } from "@/api/errors"
import type { CredentialPublic, EvaluatorPublic } from "@/client"
import { registerEvaluatorMutation } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Checkbox, FieldError, Input, Label } from "@/components/ui/field"

import { validationProblems } from "./credential-form"
import { useRefreshDesk } from "./desk"

type Scope = "all" | "only"
type Field = "sub" | "name" | "email" | "scope"
type Errors = Partial<Record<Field, string>>

/** The body's fields → the form's (the credentials' refusals go under the choice of them). */
const BODY_FIELDS: Record<string, Field> = {
  name: "name",
  email: "email",
  credential_ids: "scope",
  all_credentials: "scope",
}

/** Add an evaluator, or edit one (the same form, filled): who they are and what they evaluate. */
export function EvaluatorForm({
  editing,
  evaluators,
  credentials,
  onDone,
}: {
  editing: EvaluatorPublic | null
  evaluators: EvaluatorPublic[]
  credentials: CredentialPublic[]
  onDone: () => void
}) {
  const id = useId()
  const refresh = useRefreshDesk()
  const [sub, setSub] = useState(editing?.id ?? "")
  const [name, setName] = useState(editing?.name ?? "")
  const [email, setEmail] = useState(editing?.email ?? "")
  const [scope, setScope] = useState<Scope | null>(editing ? (editing.all_credentials ? "all" : "only") : null)
  const [chosen, setChosen] = useState<string[]>(editing?.credential_ids ?? [])
  const [errors, setErrors] = useState<Errors>({})
  const nameInput = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (editing) nameInput.current?.focus()
  }, [editing])

  const register = useMutation({
    ...registerEvaluatorMutation(),
    onSuccess: async (saved) => {
      toast.success(editing ? `${saved.name} is saved.` : `${saved.name} is registered, on duty.`)
      await refresh()
      onDone()
    },
    onError: (error) => {
      const problems = validationProblems(error)
      if (!problems) return
      const found: Errors = {}
      for (const p of problems) found[BODY_FIELDS[String(p.loc[1])] ?? "sub"] ??= p.msg
      setErrors(found)
    },
  })

  const submit = (event: SubmitEvent) => {
    event.preventDefault()
    const found: Errors = {}
    if (!sub.trim()) found.sub = "Give the user id they sign in with."
    else if (!editing && evaluators.some((e) => e.id === sub.trim())) found.sub = "This user is an evaluator already: edit them instead."
    if (!name.trim()) found.name = "Give their name."
    if (!email.trim()) found.email = "Give their email address."
    if (scope === null) found.scope = "Choose what they evaluate."
    else if (scope === "only" && chosen.length === 0) found.scope = "Choose at least one credential."
    setErrors(found)
    if (Object.keys(found).length > 0) return
    register.mutate({
      path: { sub: sub.trim() },
      body: {
        name: name.trim(),
        email: email.trim(),
        all_credentials: scope === "all",
        credential_ids: scope === "all" ? [] : chosen,
      },
    })
  }

  const input = (
    field: Exclude<Field, "scope">,
    label: string,
    value: string,
    set: (v: string) => void,
    extra: ComponentProps<typeof Input> = {},
  ) => (
    <div>
      <Label htmlFor={`${id}-${field}`}>{label}</Label>
      <Input
        id={`${id}-${field}`}
        className="mt-1"
        value={value}
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={errors[field] ? `${id}-${field}-error` : undefined}
        onChange={(e) => {
          set(e.target.value)
          setErrors((x) => ({ ...x, [field]: undefined }))
        }}
        {...extra}
      />
      <FieldError id={`${id}-${field}-error`}>{errors[field]}</FieldError>
    </div>
  )

  return (
    <Card aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`} className="text-lg font-semibold">
        {editing ? `Edit ${editing.name}` : "Add an evaluator"}
      </h2>
      <form noValidate onSubmit={submit} className="mt-3 space-y-4">
        <div className="grid gap-4 sm:grid-cols-3">
          {input("sub", "User id", sub, setSub, { readOnly: editing !== null, autoComplete: "off" })}
          {input("name", "Name", name, setName, { ref: nameInput, autoComplete: "off" })}
          {input("email", "Email", email, setEmail, { type: "email", autoComplete: "off" })}
        </div>
        <fieldset aria-describedby={errors.scope ? `${id}-scope-error` : undefined}>
          <legend className="text-sm font-medium text-slate-900">What they evaluate</legend>
          <div className="mt-1 flex flex-wrap gap-6">
            {(["all", "only"] as const).map((value) => (
              <label key={value} className="flex items-center gap-2 text-sm">
                <input
                  type="radio"
                  name={`${id}-scope`}
                  className="size-4 accent-brand-700"
                  checked={scope === value}
                  onChange={() => {
                    setScope(value)
                    setErrors((x) => ({ ...x, scope: undefined }))
                  }}
                />
                {value === "all" ? "All credentials" : "Only these credentials"}
              </label>
            ))}
          </div>
          {scope === "only" && (
            <ul className="mt-3 space-y-2">
              {credentials.map((c) => (
                <li key={c.id} className="flex items-center gap-2">
                  <Checkbox
                    id={`${id}-credential-${c.id}`}
                    checked={chosen.includes(c.id)}
                    onCheckedChange={(checked) => {
                      setChosen((ids) => (checked === true ? [...ids, c.id] : ids.filter((x) => x !== c.id)))
                      setErrors((x) => ({ ...x, scope: undefined }))
                    }}
                  />
                  <Label htmlFor={`${id}-credential-${c.id}`} className="font-normal">
                    {c.title}
                    {c.retired_at ? " (retired)" : ""}
                  </Label>
                </li>
              ))}
            </ul>
          )}
          <FieldError id={`${id}-scope-error`}>{errors.scope}</FieldError>
        </fieldset>
        {register.isError && !validationProblems(register.error) && (
          <Alert tone="danger" role="alert">
            {errorMessage(register.error)}
          </Alert>
        )}
        <div className="flex gap-3">
          <Button type="submit" disabled={register.isPending}>
            {register.isPending ? "Saving…" : editing ? "Save" : "Add the evaluator"}
          </Button>
          {editing && (
            <Button type="button" variant="secondary" onClick={onDone}>
              Stop editing
            </Button>
          )}
        </div>
      </form>
    </Card>
  )
}
