import { useId } from "react"

import type { TaskWork } from "@/client"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Textarea } from "@/components/ui/field"
import { EvidenceField } from "@/features/evidence/EvidenceField"
import { formatDateTime, formatTime } from "@/lib/format"

import type { AutosaveController, AutosaveState } from "./autosave"

/** One task: its answer box, labelled by its prompt, saved while the member types. */
export function TaskField({
  enrolmentId,
  task,
  controller,
  state,
}: {
  enrolmentId: string
  task: TaskWork
  controller?: AutosaveController
  state?: AutosaveState
}) {
  const id = useId()
  const editable = controller !== undefined && state !== undefined && state.status !== "refused"
  const text = state?.text ?? task.response ?? ""
  return (
    <div className="space-y-2">
      <label htmlFor={id} className="block font-medium text-slate-900">
        {task.prompt}
        <span className="ml-2 text-sm font-normal text-slate-700">{task.required ? "Required" : "Optional"}</span>
      </label>
      <Textarea
        id={id}
        value={text}
        readOnly={!editable}
        aria-describedby={`${id}-status`}
        onChange={(event) => controller?.edit(event.target.value)}
      />
      <p id={`${id}-status`} className="text-sm text-slate-700" aria-live="polite">
        {editable || state ? <SaveStatusText state={state} /> : task.saved_at ? `Saved ${formatDateTime(task.saved_at)}` : ""}
        {!controller && " · Read-only"}
      </p>
      {task.evidence && <EvidenceField enrolmentId={enrolmentId} task={task} evidence={task.evidence} />}
      {state?.status === "conflict" && state.conflict && controller && (
        <Alert tone="warning" role="alert" heading="This answer was changed in another tab or device">
          <p>
            A newer version was saved {formatDateTime(state.conflict.saved_at)}. Your text above is not saved yet.
            Which one do you want to keep?
          </p>
          <details className="mt-2">
            <summary className="cursor-pointer font-medium">Show the newer version</summary>
            <p className="mt-2 whitespace-pre-wrap rounded bg-white p-2">{state.conflict.response}</p>
          </details>
          <div className="mt-3 flex flex-wrap gap-2">
            <Button size="sm" onClick={() => controller.keepMine()}>
              Keep my text
            </Button>
            <Button size="sm" variant="secondary" onClick={() => controller.takeTheirs()}>
              Use the newer version
            </Button>
          </div>
        </Alert>
      )}
    </div>
  )
}

function SaveStatusText({ state }: { state?: AutosaveState }) {
  if (!state) return null
  switch (state.status) {
    case "saved":
      return <>{state.savedAt ? `Saved at ${formatTime(state.savedAt)}` : "Not started"}</>
    case "dirty":
      return <>Unsaved changes…</>
    case "saving":
      return <>Saving…</>
    case "failed":
      return (
        <span className="font-medium text-red-800">
          Not saved yet: {state.message} Kept in this browser; trying again.
        </span>
      )
    case "conflict":
      return <span className="font-medium text-amber-900">Not saved: changed elsewhere.</span>
    case "refused":
      return <span className="font-medium text-red-800">Not saved: {state.message}</span>
  }
}
