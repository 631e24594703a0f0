/**
 * Sending one evidence file, as the API's contract has it: declare it (name, type, size, SHA-256),
 * send the bytes where the answer says (one request, or parts for a large file: straight to the
 * object store, or to the API on the embedded default), then complete it, when the API checks
 * what arrived. After a dropped connection, `resume` asks which parts arrived and sends the rest.
 */
import { createSHA256 } from "hash-wasm"

import { errorDetail, errorMessage } from "@/api/errors"
import type { AttachmentPublic, AttachmentUpload, UploadRequest } from "@/client"
import { completeAttachment, createAttachment, resumeUpload } from "@/client/sdk.gen"

/** Parts sent at once: enough to fill a connection, few enough to leave the page responsive. */
export const PARALLEL_PARTS = 3
const HASH_CHUNK = 8 * 1024 * 1024

export type Phase = "hashing" | "sending" | "checking"

export interface Progress {
  phase: Phase
  /** Bytes hashed or sent so far, of `total`. */
  loaded: number
  total: number
}

/** A failed upload: `attachmentId` set when it can resume (the declared file is still waiting). */
export class UploadFailed extends Error {
  constructor(
    message: string,
    readonly attachmentId: string | null,
    override readonly cause?: unknown,
  ) {
    super(message)
    this.name = "UploadFailed"
  }
}

export interface Target {
  enrolmentId: string
  taskId: string
}

/** SHA-256 of a file, hex, read in chunks (a 2 GB video never sits in memory whole). */
export async function sha256(file: Blob, onProgress?: (loaded: number) => void, signal?: AbortSignal): Promise<string> {
  const hasher = await createSHA256()
  hasher.init()
  for (let offset = 0; offset < file.size; offset += HASH_CHUNK) {
    signal?.throwIfAborted()
    const chunk = new Uint8Array(await file.slice(offset, offset + HASH_CHUNK).arrayBuffer())
    hasher.update(chunk)
    onProgress?.(Math.min(offset + HASH_CHUNK, file.size))
  }
  return hasher.digest("hex")
}

// Headers the browser sets itself and refuses to take from a script.
const BROWSER_OWNED = new Set(["content-length", "host", "connection"])

/** Send `body` with a signed request; `onProgress` gets the bytes sent so far. */
export function send(
  request: UploadRequest,
  body: Blob,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(request.method, request.url)
    for (const [name, value] of Object.entries(request.headers)) {
      if (!BROWSER_OWNED.has(name.toLowerCase())) xhr.setRequestHeader(name, value)
    }
    xhr.upload.onprogress = (event) => onProgress(event.loaded)
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(body.size)
        resolve()
      } else {
        reject(new Error(`the store answered ${xhr.status}`))
      }
    }
    xhr.onerror = () => reject(new Error("the connection dropped"))
    xhr.onabort = () => reject(new DOMException("cancelled", "AbortError"))
    signal?.addEventListener("abort", () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

/** Send what `plan` says is still to send: the whole file, or its missing parts, a few at once. */
export async function sendPlan(
  plan: AttachmentUpload,
  file: Blob,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
  sender: typeof send = send,
): Promise<void> {
  if (plan.upload) {
    await sender(plan.upload, file, onProgress, signal)
    return
  }
  const multipart = plan.multipart
  if (!multipart) throw new Error("the answer said neither where nor how to send the file")
  const sent = new Map<number, number>(multipart.received.map((part) => [part.number, part.size]))
  const report = () => onProgress([...sent.values()].reduce((sum, n) => sum + n, 0))
  report()
  const queue = [...multipart.parts]
  async function worker(): Promise<void> {
    for (let part = queue.shift(); part; part = queue.shift()) {
      const number = part.number
      await sender(part, file.slice(part.offset, part.offset + part.size), (loaded) => {
        sent.set(number, loaded)
        report()
      }, signal)
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, worker))
}

/**
 * Upload `file` to a task: declare, send, complete. With `resumeId` (from an `UploadFailed`, or
 * an unfinished upload of the same file the task lists after a reload), carry on with that
 * declared file: only the parts that did not arrive are sent again; if it can no longer resume
 * (swept, refused), start over. `onDeclared` learns the attachment's id as soon as it has one.
 */
export async function uploadEvidence(
  target: Target,
  file: File,
  onProgress: (progress: Progress) => void,
  {
    resumeId,
    signal,
    onDeclared,
  }: { resumeId?: string | null; signal?: AbortSignal; onDeclared?: (attachmentId: string) => void } = {},
): Promise<AttachmentPublic> {
  const path = { enrolment_id: target.enrolmentId, task_id: target.taskId }
  let plan: AttachmentUpload | null = null
  if (resumeId) {
    try {
      plan = await resumeUpload({ path: { ...path, attachment_id: resumeId }, throwOnError: true })
    } catch (error) {
      // The connection: try again later. The API's answer (swept, refused, done): start over.
      if (errorDetail(error) === null) {
        throw new UploadFailed(`${file.name} could not carry on: ${errorMessage(error)}`, resumeId, error)
      }
    }
  }
  if (!plan) {
    const hash = await sha256(file, (loaded) => onProgress({ phase: "hashing", loaded, total: file.size }), signal)
    plan = await createAttachment({
      path,
      body: { filename: file.name, content_type: contentType(file), size: file.size, sha256: hash },
      throwOnError: true,
    })
  }
  const declared = plan.id
  onDeclared?.(declared)
  try {
    await sendPlan(plan, file, (loaded) => onProgress({ phase: "sending", loaded, total: file.size }), signal)
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error
    throw new UploadFailed(`${file.name} did not finish uploading: ${(error as Error).message}.`, declared, error)
  }
  onProgress({ phase: "checking", loaded: file.size, total: file.size })
  return await completeAttachment({ path: { ...path, attachment_id: declared }, throwOnError: true })
}

// Browsers leave `type` empty for extensions they do not know; the API checks the bytes anyway.
const BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  mp4: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
}

export function contentType(file: File): string {
  if (file.type) return file.type
  const extension = file.name.split(".").pop()?.toLowerCase() ?? ""
  return BY_EXTENSION[extension] ?? "application/octet-stream"
}

const UNITS = ["bytes", "KB", "MB", "GB"]

/** 1536 → "1.5 KB": sizes as people read them (decimal units, like the operating systems' own). */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  const shown = unit === 0 ? String(value) : value.toFixed(value < 10 ? 1 : 0)
  return `${shown} ${UNITS[unit]}`
}
