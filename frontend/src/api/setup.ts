/**
 * The generated API client and TanStack Query, configured once: same-origin calls under /api/v1
 * with the session's bearer token, no retries of refusals, and an expired session sending the
 * person back to sign-in (their unsaved text stays in this browser; see features/work/drafts).
 */
import { QueryClient } from "@tanstack/react-query"

import { clearSession, readSession } from "@/auth/session"
import { client } from "@/client/client.gen"

import { errorDetail } from "./errors"

let onSignedOut: (() => void) | null = null

/** What to do when the API says the session is over (the router registers it). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler
}

client.setConfig({ baseUrl: "", auth: () => readSession()?.token })
client.interceptors.response.use((response) => {
  if (response.status === 401 && readSession() !== null) {
    clearSession()
    onSignedOut?.()
  }
  return response
})

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // The API's refusals (404, 409...) are answers, not failures: retry only lost connections.
      retry: (count, error) => errorDetail(error) === null && count < 2,
    },
    mutations: { retry: false },
  },
})
