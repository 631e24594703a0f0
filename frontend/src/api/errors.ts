/** The API's error bodies: ``{"detail": {"code", "message", ...}}`` (422 shape errors aside). */

export interface ApiErrorDetail {
  code: string
  message: string
  [field: string]: unknown
}

/** The generated client throws the parsed error body; network failures throw an Error. */
export function errorDetail(error: unknown): ApiErrorDetail | null {
  if (typeof error === "object" && error !== null && "detail" in error) {
    const detail: unknown = error.detail
    if (typeof detail === "object" && detail !== null && "code" in detail && "message" in detail) {
      return detail as ApiErrorDetail
    }
    if (Array.isArray(detail)) {
      // FastAPI's request-shape errors: [{loc, msg, type}]
      const first = detail[0] as { msg?: string } | undefined
      return { code: "invalid_request", message: first?.msg ?? "The request was refused.", errors: detail }
    }
  }
  return null
}

/** What to tell a person about a failed call, in a sentence. */
export function errorMessage(error: unknown): string {
  const detail = errorDetail(error)
  if (detail) return sentence(detail.message)
  if (error instanceof Error && error.message) return "We could not reach microcred. Check your connection and try again."
  return "Something went wrong. Try again."
}

function sentence(text: string): string {
  const trimmed = text.trim()
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
  return /[.!?]$/.test(capital) ? capital : `${capital}.`
}

export function hasCode(error: unknown, code: string): boolean {
  return errorDetail(error)?.code === code
}
