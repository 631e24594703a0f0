/**
 * Who is signed in: the bearer token the API accepts, and what it says of its holder.
 *
 * Kept in localStorage so a reload or a second tab stays signed in; read through
 * ``useSession`` so every screen re-renders when someone signs in or out (in any tab).
 */
import { useSyncExternalStore } from "react"

export type Role = "member" | "evaluator" | "admin"

export interface Session {
  token: string
  sub: string
  role: Role
  name: string | null
  /** When the token expires, in milliseconds since the epoch. */
  expiresAt: number
  via: "dev" | "oidc"
}

const KEY = "microcred.session"
const listeners = new Set<() => void>()
let cached: { raw: string | null; session: Session | null } = { raw: null, session: null }

function notify(): void {
  for (const listener of listeners) listener()
}

/** The session in storage, or null when there is none or its token has expired. */
export function readSession(now: number = Date.now()): Session | null {
  const raw = localStorage.getItem(KEY)
  if (raw !== cached.raw) {
    let session: Session | null = null
    try {
      session = raw ? (JSON.parse(raw) as Session) : null
    } catch {
      session = null
    }
    cached = { raw, session }
  }
  return cached.session && cached.session.expiresAt > now ? cached.session : null
}

export function saveSession(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session))
  notify()
}

export function clearSession(): void {
  localStorage.removeItem(KEY)
  notify()
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  const onStorage = (event: StorageEvent) => {
    if (event.key === KEY) listener()
  }
  window.addEventListener("storage", onStorage)
  return () => {
    listeners.delete(listener)
    window.removeEventListener("storage", onStorage)
  }
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, () => readSession())
}

/** A session from a JWT's claims (the API verifies the token; this only reads what it says). */
export function sessionFromToken(token: string, via: Session["via"]): Session {
  const part = token.split(".")[1] ?? ""
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="))
  const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as {
    sub: string
    role?: string
    name?: string
    exp: number
  }
  const role = claims.role
  if (role !== "member" && role !== "evaluator" && role !== "admin") {
    throw new Error("This account has no microcred role (member, evaluator or admin).")
  }
  return { token, sub: claims.sub, role, name: claims.name ?? null, expiresAt: claims.exp * 1000, via }
}

/** Where each role starts. */
export const HOME: Record<Role, string> = {
  member: "/learning",
  evaluator: "/reviews",
  admin: "/admin/enrolments",
}
