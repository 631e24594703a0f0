/** The enrolment search's filters, kept in the address (so a search can be shared and reloaded). */
import type { SearchEnrolmentsData, Status } from "@/client"
import { STATUS } from "@/lib/format"

export interface EnrolmentFilters {
  /** A member's id, or part of their name or email. */
  member?: string
  credential?: string
  status?: Status
  enrolment?: string
}

function filled(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined
}

function isStatus(value: unknown): value is Status {
  return typeof value === "string" && value in STATUS
}

/** The route's ``validateSearch``: only the filters it knows, each non-empty. */
export function parseFilters(search: Record<string, unknown>): EnrolmentFilters {
  return {
    member: filled(search.member),
    credential: filled(search.credential),
    status: isStatus(search.status) ? search.status : undefined,
    enrolment: filled(search.enrolment),
  }
}

/** The filters as the API's query. */
export function searchQuery(filters: EnrolmentFilters): NonNullable<SearchEnrolmentsData["query"]> {
  return {
    member: filters.member,
    credential_id: filters.credential,
    status: filters.status,
    enrolment_id: filters.enrolment,
  }
}
