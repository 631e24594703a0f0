import { useQuery } from "@tanstack/react-query"
import { Download, Eye, EyeOff, Paperclip } from "lucide-react"
import { useEffect, useId, useMemo, useState } from "react"

import type { FrozenAttachment } from "@/client"
import { Button } from "@/components/ui/button"

import { formatBytes } from "./upload"

/** The files a submission froze: each with a download and, for PDFs, images and video, a preview. */
export function Attachments({ attachments }: { attachments: FrozenAttachment[] }) {
  if (attachments.length === 0) return null
  return (
    <ul className="mt-2 space-y-2" aria-label="Files">
      {attachments.map((attachment) => (
        <AttachmentItem key={attachment.id} attachment={attachment} />
      ))}
    </ul>
  )
}

type Kind = "pdf" | "image" | "video" | null

function kindOf(contentType: string): Kind {
  if (contentType === "application/pdf") return "pdf"
  if (contentType.startsWith("image/")) return "image"
  if (contentType.startsWith("video/")) return "video"
  return null
}

function AttachmentItem({ attachment }: { attachment: FrozenAttachment }) {
  const [open, setOpen] = useState(false)
  const previewId = useId()
  const kind = kindOf(attachment.content_type)
  return (
    <li className="rounded-md border border-slate-200 bg-white p-2 text-sm">
      <div className="flex flex-wrap items-center gap-2">
        <Paperclip className="size-4 text-slate-600" aria-hidden />
        <bdi className="font-medium">{attachment.filename}</bdi>
        <span className="text-slate-700">{formatBytes(attachment.size)}</span>
        <span className="ml-auto flex gap-2">
          {kind && (
            <Button size="sm" variant="secondary" aria-expanded={open} aria-controls={previewId} onClick={() => setOpen(!open)}>
              {open ? <EyeOff className="size-4" aria-hidden /> : <Eye className="size-4" aria-hidden />}
              {open ? "Hide" : "Open"} <span className="sr-only">{attachment.filename}</span>
            </Button>
          )}
          <Button asChild size="sm" variant="ghost">
            <a href={attachment.download_url} download={attachment.filename}>
              <Download className="size-4" aria-hidden />
              Download <span className="sr-only">{attachment.filename}</span>
            </a>
          </Button>
        </span>
      </div>
      <div id={previewId}>{open && kind && <Preview attachment={attachment} kind={kind} />}</div>
    </li>
  )
}

function Preview({ attachment, kind }: { attachment: FrozenAttachment; kind: NonNullable<Kind> }) {
  const label = `${attachment.filename} (preview)`
  if (kind === "image") {
    return <img src={attachment.download_url} alt={label} className="mt-2 max-h-[32rem] rounded border border-slate-200" />
  }
  if (kind === "video") {
    return (
      <video src={attachment.download_url} controls preload="metadata" className="mt-2 max-h-[32rem] w-full" aria-label={label}>
        <track kind="captions" />
      </video>
    )
  }
  return <PdfPreview attachment={attachment} label={label} />
}

/**
 * A PDF shown in the browser's own viewer. The download URL says "save as" (a Content-Disposition
 * of attachment), so the bytes are fetched and shown from memory instead.
 */
function PdfPreview({ attachment, label }: { attachment: FrozenAttachment; label: string }) {
  const pdf = useQuery({
    // By content hash: the same file is never fetched twice, whatever URL signs it.
    queryKey: ["evidence-bytes", attachment.sha256],
    queryFn: async () => {
      const response = await fetch(attachment.download_url)
      if (!response.ok) throw new Error(`the store answered ${response.status}`)
      return new Blob([await response.blob()], { type: "application/pdf" })
    },
    staleTime: Infinity,
  })
  const url = useMemo(() => (pdf.data ? URL.createObjectURL(pdf.data) : null), [pdf.data])
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url])
  if (pdf.isError) return <p className="mt-2 text-red-800">The file could not be opened: {pdf.error.message}.</p>
  if (!url) return <p className="mt-2 text-slate-700">Opening…</p>
  return <iframe src={url} title={label} className="mt-2 h-[32rem] w-full rounded border border-slate-200" />
}
