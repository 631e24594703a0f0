import { useMutation, useQuery } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { type SubmitEvent, useEffect, useId, useState } from "react"
import { toast } from "sonner"

import { errorDetail, errorMessage } from "@/api/errors"
import { getCredentialOptions, publishCredentialMutation } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { FieldError, Label, Textarea } from "@/components/ui/field"
import { usePageTitle } from "@/lib/page-title"

import {
  type CredentialForm,
  documentOf,
  EMPTY_FORM,
  type FieldErrors,
  type FieldName,
  fieldErrors,
  formOf,
  nextVersionId,
  parseDocument,
  validationProblems,
} from "./credential-form"
import { useRefreshDesk } from "./desk"
import { EditorFields, FIELD_ORDER } from "./EditorFields"

/** The credential editor: a new credential, or a new version of a published one (``from``). */
export function CredentialEditor({ from }: { from?: string }) {
  const source = useQuery({
    ...getCredentialOptions({ path: { credential_id: from ?? "" } }),
    enabled: from !== undefined,
  })
  const title = source.data ? `Publish a new version of ${source.data.title}` : "Publish a credential"
  usePageTitle(title)
  if (from !== undefined && source.isPending) return <p role="status">Loading the credential to start from…</p>
  if (source.isError) {
    return (
      <Alert tone="danger" role="alert" heading="The credential to start from could not be opened">
        {errorMessage(source.error)} <Link to="/admin/catalog">Back to the catalog</Link>
      </Alert>
    )
  }
  const initial = source.data ? { ...formOf(source.data), id: nextVersionId(source.data.id) } : EMPTY_FORM
  return (
    <>
      <p className="text-sm">
        <Link to="/admin/catalog">Catalog</Link>
      </p>
      <h1 className="mt-1 text-2xl font-semibold">{title}</h1>
      <p className="mt-1 text-slate-700">
        Once published, a credential never changes: members buy exactly what it says. A change is a new version,
        published under a new id.
      </p>
      <EditorForm key={from ?? ""} initial={initial} />
    </>
  )
}

function EditorForm({ initial }: { initial: CredentialForm }) {
  const navigate = useNavigate()
  const refresh = useRefreshDesk()
  const [form, setForm] = useState(initial)
  const [errors, setErrors] = useState<FieldErrors>({})
  // Each refusal moves the focus to the first field it concerns (a new object every time).
  const [focus, setFocus] = useState<{ field: FieldName } | null>(null)
  const fieldsId = useId()

  useEffect(() => {
    if (focus) document.getElementById(`${fieldsId}-${focus.field}`)?.focus()
  }, [focus, fieldsId])

  const refuse = (found: FieldErrors) => {
    setErrors(found)
    const first = FIELD_ORDER.find((name) => found[name]?.length)
    setFocus(first ? { field: first } : null)
  }
  const publish = useMutation({
    ...publishCredentialMutation(),
    onSuccess: async (published) => {
      toast.success(`${published.title} is published.`)
      await refresh()
      await navigate({ to: "/admin/catalog" })
    },
    onError: (error) => {
      const problems = validationProblems(error)
      if (problems) refuse(fieldErrors(problems))
      else if (errorDetail(error)?.code === "already_exists") {
        refuse({ id: [`${errorMessage(error)} Choose another id, such as ${nextVersionId(form.id.trim())}.`] })
      } else refuse({ form: [errorMessage(error)] })
    },
  })

  const submit = (event: SubmitEvent) => {
    event.preventDefault()
    const made = documentOf(form)
    if ("errors" in made) refuse(made.errors)
    else {
      setErrors({})
      publish.mutate({ body: made.doc })
    }
  }
  const change = (name: FieldName, value: string) => {
    setForm((f) => ({ ...f, [name]: value }))
    setErrors((e) => ({ ...e, [name]: undefined }))
  }
  const invalid = FIELD_ORDER.filter((name) => errors[name]?.length).length

  return (
    <div className="mt-6 space-y-6">
      <PasteDocument
        onFill={(filled) => {
          setForm(filled)
          setErrors({})
        }}
      />
      <form noValidate onSubmit={submit} className="space-y-6" aria-label="The credential">
        <EditorFields idPrefix={fieldsId} form={form} errors={errors} onChange={change} />
        {(invalid > 0 || errors.form) && (
          <Alert tone="danger" role="alert" heading="The credential was not published">
            {invalid > 0 && (
              <p>
                {invalid === 1 ? "One field needs" : `${String(invalid)} fields need`} a change: the messages are under
                {invalid === 1 ? " it" : " them"}.
              </p>
            )}
            {errors.form?.map((message) => <p key={message}>{message}</p>)}
          </Alert>
        )}
        <div className="flex gap-3">
          <Button type="submit" disabled={publish.isPending}>
            {publish.isPending ? "Publishing…" : "Publish"}
          </Button>
          <Button asChild variant="secondary">
            <Link to="/admin/catalog">Back to the catalog</Link>
          </Button>
        </div>
      </form>
    </div>
  )
}

/** Paste a whole credential document (JSON) and fill the form from it. */
function PasteDocument({ onFill }: { onFill: (form: CredentialForm) => void }) {
  const id = useId()
  const [pasted, setPasted] = useState("")
  const [error, setError] = useState<string | null>(null)
  const fill = () => {
    const parsed = parseDocument(pasted)
    if ("error" in parsed) setError(parsed.error)
    else {
      setError(null)
      onFill(parsed.form)
      toast.success("The form is filled from the document.")
    }
  }
  return (
    <Card aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`} className="text-lg font-semibold">
        Start from a whole document
      </h2>
      <Label htmlFor={id} className="mt-3 block">
        Paste a whole JSON document
      </Label>
      <Textarea
        id={id}
        className="mt-1 font-mono text-xs"
        value={pasted}
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => {
          setPasted(e.target.value)
          setError(null)
        }}
      />
      <FieldError id={`${id}-error`}>{error}</FieldError>
      <Button type="button" variant="secondary" className="mt-3" onClick={fill}>
        Fill the form
      </Button>
    </Card>
  )
}
