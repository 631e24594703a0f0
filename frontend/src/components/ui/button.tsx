import { cva, type VariantProps } from "class-variance-authority"
import { Slot } from "radix-ui"
import type { ComponentProps } from "react"

import { cn } from "@/lib/utils"

const buttonVariants = cva(
  "inline-flex items-center justify-center gap-2 rounded-md text-sm font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-60 no-underline hover:no-underline",
  {
    variants: {
      variant: {
        primary: "bg-brand-700 text-white hover:bg-brand-800",
        secondary: "border border-slate-300 bg-white text-slate-900 hover:bg-slate-100",
        danger: "bg-red-700 text-white hover:bg-red-800",
        ghost: "text-slate-800 hover:bg-slate-200",
        link: "text-brand-700 underline-offset-2 hover:underline",
      },
      size: { md: "h-10 px-4", sm: "h-8 px-3", lg: "h-11 px-6 text-base" },
    },
    defaultVariants: { variant: "primary", size: "md" },
  },
)

type ButtonProps = ComponentProps<"button"> & VariantProps<typeof buttonVariants> & { asChild?: boolean }

/** A button; ``asChild`` styles its child (a link) as one instead. */
export function Button({ className, variant, size, asChild = false, ...props }: ButtonProps) {
  const Component = asChild ? Slot.Root : "button"
  return <Component className={cn(buttonVariants({ variant, size }), className)} {...props} />
}
