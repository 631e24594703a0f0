import { Accordion as AccordionPrimitive } from "radix-ui"
import { ChevronDown } from "lucide-react"
import type { ComponentProps, ReactNode } from "react"

import { cn } from "@/lib/utils"

export const Accordion = AccordionPrimitive.Root

export function AccordionItem({ className, ...props }: ComponentProps<typeof AccordionPrimitive.Item>) {
  return (
    <AccordionPrimitive.Item
      className={cn("rounded-lg border border-slate-200 bg-white", className)}
      {...props}
    />
  )
}

/** The section's heading: a button named by ``children`` that expands it (``aria-expanded``). */
export function AccordionTrigger({
  children,
  aside,
  className,
  headingLevel = 2,
  ...props
}: ComponentProps<typeof AccordionPrimitive.Trigger> & { aside?: ReactNode; headingLevel?: 2 | 3 }) {
  const Heading = headingLevel === 2 ? "h2" : "h3"
  return (
    <AccordionPrimitive.Header asChild>
      <Heading className="flex items-center gap-3 px-4">
        <AccordionPrimitive.Trigger
          className={cn(
            "group flex flex-1 items-center gap-2 py-3 text-left text-base font-semibold text-slate-900",
            className,
          )}
          {...props}
        >
          <ChevronDown
            className="size-5 shrink-0 text-slate-600 transition-transform group-data-[state=open]:rotate-180"
            aria-hidden="true"
          />
          {children}
        </AccordionPrimitive.Trigger>
        {aside}
      </Heading>
    </AccordionPrimitive.Header>
  )
}

export function AccordionContent({ className, ...props }: ComponentProps<typeof AccordionPrimitive.Content>) {
  return <AccordionPrimitive.Content className={cn("border-t border-slate-100 px-4 py-4", className)} {...props} />
}
