import { redirect } from "@tanstack/react-router"

import { HOME, readSession, type Role } from "./session"

/** A route's ``beforeLoad`` for screens of one role: anyone else is taken to their own home. */
export function requireRole(role: Role) {
  return () => {
    const session = readSession()
    if (session && session.role !== role) throw redirect({ to: HOME[session.role] })
  }
}
