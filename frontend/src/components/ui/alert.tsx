import { cva, type VariantProps } from "class-variance-authority"
import type { ComponentProps } from "react"

import { cn } from "@/lib/utils"

const alertVariants = cva("rounded-md border p-4 text-sm", {
  variants: {
    tone: {
      info: "border-sky-300 bg-sky-50 text-sky-950",
      success: "border-emerald-300 bg-emerald-50 text-emerald-950",
      warning: "border-amber-300 bg-amber-50 text-amber-950",
      danger: "border-red-300 bg-red-50 text-red-950",
    },
  },
  defaultVariants: { tone: "info" },
})

type AlertProps = ComponentProps<"div"> & VariantProps<typeof alertVariants> & { heading?: string }

/** A message the page shows in a box; ``role="status"`` when it reports a change. */
export function Alert({ className, tone, heading, children, ...props }: AlertProps) {
  return (
    <div className={cn(alertVariants({ tone }), className)} {...props}>
      {heading && <p className="mb-1 font-semibold">{heading}</p>}
      {children}
    </div>
  )
}
