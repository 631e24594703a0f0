import { useMutation, useQueryClient } from "@tanstack/react-query"
import { FileUp, Paperclip, RotateCcw, Trash2, X } from "lucide-react"
import { type ReactNode, useId, useRef, useState } from "react"
import { type FileRejection, useDropzone } from "react-dropzone"

import { errorMessage } from "@/api/errors"
import type { FrozenAttachment, TaskWork } from "@/client"
import { getEnrolmentQueryKey } from "@/client/@tanstack/react-query.gen"
import { deleteAttachment } from "@/client/sdk.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"

import { formatBytes, type Progress, type Target, UploadFailed, uploadEvidence } from "./upload"

interface Sending {
  key: string
  file: File
  progress: Progress | null
  error: string | null
  /** The declared file to carry on with after a failure, or null to start over. */
  resumeId: string | null
  /** The declared file, once declared (Cancel removes it, so it holds no place). */
  declaredId: string | null
  abort: AbortController
}

const PHASE_WORDS = { hashing: "Preparing", sending: "Uploading", checking: "Checking" } as const

type Evidence = NonNullable<TaskWork["evidence"]>

/** A task's evidence files: those kept, the uploads under way, and where to drop more. */
export function EvidenceField({ enrolmentId, task, evidence }: { enrolmentId: string; task: TaskWork; evidence: Evidence }) {
  const id = useId()
  const queryClient = useQueryClient()
  const [sending, setSending] = useState<Sending[]>([])
  const [refused, setRefused] = useState<string[]>([])
  const counter = useRef(0)
  const target: Target = { enrolmentId, taskId: task.id }
  const refresh = () =>
    queryClient.invalidateQueries({ queryKey: getEnrolmentQueryKey({ path: { enrolment_id: enrolmentId } }) })

  const remove = useMutation({
    mutationFn: (attachment: Pick<FrozenAttachment, "id">) =>
      deleteAttachment({
        path: { enrolment_id: enrolmentId, task_id: task.id, attachment_id: attachment.id },
        throwOnError: true,
      }),
    onSettled: refresh,
  })

  // Unfinished uploads hold a place until completed or removed; those being resumed are in `sending`.
  const resuming = new Set(sending.map((s) => s.resumeId ?? s.declaredId))
  const unfinished = task.unfinished.filter((u) => !resuming.has(u.id))
  const room = evidence.max_files - task.attachments.length - unfinished.length - sending.length

  // Remove while the task is editable (and no removal is under way); nothing to offer otherwise.
  const removable = (file: { id: string }) =>
    task.editable ? { pending: remove.isPending, run: () => remove.mutate(file) } : null

  const update = (key: string, change: Partial<Sending>) =>
    setSending((all) => all.map((s) => (s.key === key ? { ...s, ...change } : s)))

  async function start(item: Sending) {
    update(item.key, { error: null, progress: null })
    try {
      await uploadEvidence(target, item.file, (progress) => update(item.key, { progress }), {
        resumeId: item.resumeId,
        signal: item.abort.signal,
        onDeclared: (declaredId) => update(item.key, { declaredId }),
      })
      setSending((all) => all.filter((s) => s.key !== item.key))
      await refresh()
    } catch (error) {
      if (item.abort.signal.aborted) return
      const resumeId = error instanceof UploadFailed ? error.attachmentId : null
      const message = error instanceof UploadFailed ? error.message : `${item.file.name}: ${errorMessage(error)}`
      update(item.key, { error: message, resumeId })
    }
  }

  function onDrop(accepted: File[], rejections: FileRejection[]) {
    setRefused(rejections.map(({ file, errors }) => `${file.name}: ${errors.map((e) => refusal(e.code, evidence)).join(" ")}`))
    // The same file as an unfinished upload (after a reload or a crash) carries on where it stopped.
    const open = [...unfinished]
    const matched = (file: File) => {
      const i = open.findIndex((u) => u.filename === file.name && u.size === file.size)
      return i < 0 ? null : (open.splice(i, 1)[0]?.id ?? null)
    }
    let places = Math.max(room, 0)
    const fresh: Sending[] = []
    for (const file of accepted) {
      const resumeId = matched(file)
      if (!resumeId) {
        if (places === 0) continue
        places -= 1
      }
      counter.current += 1
      fresh.push({ key: `${counter.current}`, file, progress: null, error: null, resumeId, declaredId: resumeId, abort: new AbortController() })
    }
    if (accepted.length > fresh.length) {
      setRefused((all) => [...all, `Only ${evidence.max_files} files in all: ${accepted.length - fresh.length} left out.`])
    }
    setSending((all) => [...all, ...fresh])
    for (const item of fresh) void start(item)
  }

  function cancel(item: Sending) {
    item.abort.abort()
    setSending((all) => all.filter((s) => s.key !== item.key))
    // A declared file holds a place among the task's files: give it back.
    if (item.declaredId) remove.mutate({ id: item.declaredId })
  }

  const { getRootProps, getInputProps, isDragActive, open } = useDropzone({
    onDrop,
    accept: Object.fromEntries(evidence.accept.map((type) => [type, []])),
    maxSize: evidence.max_bytes,
    disabled: !task.editable || (room <= 0 && unfinished.length === 0),
    noClick: true,
    noKeyboard: true,
  })

  const kinds = evidence.accept.map(describe).join(", ")
  return (
    <div className="space-y-2" role="group" aria-labelledby={`${id}-label`}>
      <p id={`${id}-label`} className="font-medium text-slate-900">
        Files for this task
      </p>
      <p id={`${id}-limits`} className="text-sm text-slate-700">
        {kinds}; up to {evidence.max_files} {evidence.max_files === 1 ? "file" : "files"}, {formatBytes(evidence.max_bytes)}{" "}
        each.
      </p>
      {task.attachments.length > 0 && (
        <ul className="space-y-1" aria-label="Files kept">
          {task.attachments.map((attachment) => (
            <FileRow key={attachment.id} file={attachment} tone="kept" onRemove={removable(attachment)}>
              <Paperclip className="size-4 text-slate-600" aria-hidden />
              <a href={attachment.download_url} download={attachment.filename} className="font-medium">
                <bdi>{attachment.filename}</bdi>
              </a>
            </FileRow>
          ))}
        </ul>
      )}
      {unfinished.length > 0 && (
        <ul className="space-y-1" aria-label="Unfinished uploads">
          {unfinished.map((upload) => (
            <FileRow key={upload.id} file={upload} tone="unfinished" onRemove={removable(upload)}>
              <bdi className="font-medium">{upload.filename}</bdi>
            </FileRow>
          ))}
        </ul>
      )}
      {remove.isError && (
        <Alert tone="danger" role="alert">
          {errorMessage(remove.error)}
        </Alert>
      )}
      {sending.length > 0 && (
        <ul className="space-y-2" aria-label="Uploads">
          {sending.map((item) => (
            <UploadRow key={item.key} item={item} onRetry={() => void start(item)} onCancel={() => cancel(item)} />
          ))}
        </ul>
      )}
      {refused.length > 0 && (
        <Alert tone="warning" role="alert" heading="Not added">
          <ul className="list-disc pl-5">
            {refused.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </Alert>
      )}
      {task.editable && (
        <div
          {...getRootProps({
            className: `rounded-md border-2 border-dashed p-4 text-center text-sm ${
              isDragActive ? "border-brand-700 bg-brand-50" : "border-slate-300"
            }`,
          })}
        >
          <input {...getInputProps({ "aria-describedby": `${id}-limits`, "aria-label": `Add files for: ${task.prompt}` })} />
          {room > 0 || unfinished.length > 0 ? (
            <p className="flex flex-wrap items-center justify-center gap-2">
              <FileUp className="size-5 text-slate-600" aria-hidden />
              Drop files here or
              <Button type="button" size="sm" variant="secondary" onClick={open}>
                Choose files
              </Button>
            </p>
          ) : (
            <p>This task has all the files it takes; remove one to add another.</p>
          )}
        </div>
      )}
    </div>
  )
}

/** A file on the task: what `children` show of it, its size, and Remove when it may go. */
function FileRow({
  file,
  tone,
  onRemove,
  children,
}: {
  file: { filename: string; size: number }
  tone: "kept" | "unfinished"
  onRemove: { pending: boolean; run: () => void } | null
  children: ReactNode
}) {
  return (
    <li
      className={`flex flex-wrap items-center gap-2 rounded-md px-3 py-2 text-sm ${
        tone === "kept" ? "bg-slate-50" : "bg-amber-50"
      }`}
    >
      {children}
      <span className="text-slate-700">{formatBytes(file.size)}</span>
      {tone === "unfinished" && <span className="text-slate-800">not finished: add the same file again to carry on</span>}
      {onRemove && (
        <Button size="sm" variant="ghost" className="ml-auto" disabled={onRemove.pending} onClick={onRemove.run}>
          <Trash2 className="size-4" aria-hidden />
          Remove <span className="sr-only">{file.filename}</span>
        </Button>
      )}
    </li>
  )
}

function UploadRow({ item, onRetry, onCancel }: { item: Sending; onRetry: () => void; onCancel: () => void }) {
  const id = useId()
  const progress = item.progress
  const percent = progress && progress.total > 0 ? Math.round((100 * progress.loaded) / progress.total) : 0
  const words = progress ? `${PHASE_WORDS[progress.phase]} ${percent}%` : "Starting"
  return (
    <li className="rounded-md border border-slate-200 px-3 py-2 text-sm">
      <div className="flex flex-wrap items-center gap-2">
        <bdi id={id} className="font-medium">
          {item.file.name}
        </bdi>
        <span className="text-slate-700">{formatBytes(item.file.size)}</span>
        <span className="ml-auto flex gap-2">
          {item.error && (
            <Button size="sm" variant="secondary" onClick={onRetry}>
              <RotateCcw className="size-4" aria-hidden />
              Retry <span className="sr-only">{item.file.name}</span>
            </Button>
          )}
          <Button size="sm" variant="ghost" onClick={onCancel}>
            <X className="size-4" aria-hidden />
            Cancel <span className="sr-only">{item.file.name}</span>
          </Button>
        </span>
      </div>
      {item.error ? (
        <p role="alert" className="mt-1 text-red-800">
          {item.error} {item.resumeId ? "Retry carries on where it stopped." : ""}
        </p>
      ) : (
        <>
          <progress className="mt-2 h-2 w-full" max={100} value={percent} aria-labelledby={id} />
          <p className="text-slate-700" aria-live="polite">
            {words}
          </p>
        </>
      )}
    </li>
  )
}

function describe(type: string): string {
  if (type === "application/pdf") return "PDF"
  if (type.endsWith("/*")) return `${type.slice(0, -2)}s`
  return type.split("/")[1]?.toUpperCase() ?? type
}

function refusal(code: string, evidence: Evidence): string {
  switch (code) {
    case "file-too-large":
      return `It is larger than ${formatBytes(evidence.max_bytes)}.`
    case "file-invalid-type":
      return `This task takes ${evidence.accept.map(describe).join(", ")}.`
    case "too-many-files":
      return `Only ${evidence.max_files} files in all.`
    default:
      return "It cannot be added."
  }
}
