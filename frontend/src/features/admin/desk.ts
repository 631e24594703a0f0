/** What the admins' screens share: the whole catalog and every evaluator, and one refresh after a change. */
import { type Query, useInfiniteQuery, useQueryClient } from "@tanstack/react-query"
import { useEffect } from "react"

import { cursorPaging } from "@/api/pages"
import {
  listCredentialsInfiniteOptions,
  listEvaluatorsInfiniteOptions,
} from "@/client/@tanstack/react-query.gen"

/** The API's largest page: the catalog and the evaluators are short lists, read whole. */
const WHOLE = { query: { limit: 200 } }

/** Every page of an infinite query, fetched one after the other. */
function useEveryPage<T extends { fetchNextPage: () => Promise<unknown>; hasNextPage: boolean; isFetchingNextPage: boolean }>(
  query: T,
): T {
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage()
  }, [hasNextPage, isFetchingNextPage, fetchNextPage])
  return query
}

/** Every credential, retired ones included (admins see them, with ``retired_at``). */
export function useCredentials() {
  const query = useEveryPage(useInfiniteQuery({ ...listCredentialsInfiniteOptions(WHOLE), ...cursorPaging }))
  return { query, items: query.data?.pages.flatMap((p) => p.items) ?? [] }
}

/** Every evaluator, with their credentials, duty and open reviews. */
export function useEvaluators() {
  const query = useEveryPage(useInfiniteQuery({ ...listEvaluatorsInfiniteOptions(WHOLE), ...cursorPaging }))
  return { query, items: query.data?.pages.flatMap((p) => p.items) ?? [] }
}

/** The queries an admin's change can make stale: a repair moves an enrolment, its timeline,
 *  the search results, the attention list and the evaluators' loads at once. */
const DESK_QUERIES = new Set([
  "adminEnrolment",
  "getTimeline",
  "listAttempts",
  "searchEnrolments",
  "attention",
  "listEvaluators",
  "evaluatorOpenReviews",
  "listCredentials",
  "getCredential",
])

function deskQuery(query: Query): boolean {
  const key = query.queryKey[0]
  return typeof key === "object" && key !== null && "_id" in key && DESK_QUERIES.has(String(key._id))
}

/** Refresh what an admin's change may have moved (the screens on show refetch at once). */
export function useRefreshDesk(): () => Promise<void> {
  const queryClient = useQueryClient()
  return () => queryClient.invalidateQueries({ predicate: deskQuery })
}
