import type { ComponentProps } from "react"

import { cn } from "@/lib/utils"

const tones = {
  neutral: "bg-slate-200 text-slate-900",
  info: "bg-sky-100 text-sky-950",
  progress: "bg-brand-100 text-brand-800",
  success: "bg-emerald-100 text-emerald-950",
  warning: "bg-amber-100 text-amber-950",
  danger: "bg-red-100 text-red-950",
} as const

export type Tone = keyof typeof tones

/** A short status in words, coloured by what it means (the words carry it, not the colour). */
export function StatusPill({ tone, className, ...props }: ComponentProps<"span"> & { tone: Tone }) {
  return (
    <span
      className={cn("inline-flex rounded-full px-2.5 py-0.5 text-xs font-semibold whitespace-nowrap", tones[tone], className)}
      {...props}
    />
  )
}
