import { AlertDialog } from "radix-ui"
import type { ReactNode } from "react"

import { Button } from "./button"

interface ConfirmProps {
  trigger: ReactNode
  title: string
  children: ReactNode
  confirm: string
  onConfirm: () => void
  tone?: "primary" | "danger"
}

/** A confirmation that says what will happen before it happens (focus trapped, Esc cancels). */
export function Confirm({ trigger, title, children, confirm, onConfirm, tone = "primary" }: ConfirmProps) {
  return (
    <AlertDialog.Root>
      <AlertDialog.Trigger asChild>{trigger}</AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 bg-slate-900/50" />
        <AlertDialog.Content className="fixed top-1/2 left-1/2 w-[min(32rem,90vw)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-6 shadow-xl">
          <AlertDialog.Title className="text-lg font-semibold">{title}</AlertDialog.Title>
          <AlertDialog.Description asChild>
            <div className="mt-2 space-y-2 text-sm text-slate-800">{children}</div>
          </AlertDialog.Description>
          <div className="mt-6 flex justify-end gap-3">
            <AlertDialog.Cancel asChild>
              <Button variant="secondary">Cancel</Button>
            </AlertDialog.Cancel>
            <AlertDialog.Action asChild>
              <Button variant={tone} onClick={onConfirm}>
                {confirm}
              </Button>
            </AlertDialog.Action>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  )
}
