/**
 * TanStack's infinite-query settings for the API's cursor pages: the first page is asked with
 * no cursor at all, each next one with the ``next_cursor`` of the page before.
 */
export const cursorPaging = {
  // The generated options type the page parameter as a cursor string; undefined sends none.
  initialPageParam: undefined as unknown as string,
  getNextPageParam: (last: { next_cursor?: string | null }) => last.next_cursor ?? undefined,
}
