import { useInfiniteQuery } from "@tanstack/react-query"
import { Link, useNavigate } from "@tanstack/react-router"
import { type SubmitEvent, useId, useState } from "react"

import { errorMessage } from "@/api/errors"
import { cursorPaging } from "@/api/pages"
import type { AdminEnrolmentItem, Status } from "@/client"
import { searchEnrolmentsInfiniteOptions } from "@/client/@tanstack/react-query.gen"
import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card } from "@/components/ui/card"
import { Input, Label, Select } from "@/components/ui/field"
import { StatusPill } from "@/components/ui/status-pill"
import { Table, Td, Th } from "@/components/ui/table"
import { formatDate, STATUS } from "@/lib/format"
import { usePageTitle } from "@/lib/page-title"

import { useCredentials, useEvaluators } from "./desk"
import { type EnrolmentFilters, searchQuery } from "./search"

/** Enrolments: find any member's enrolment by member, micro-credential, status or id. */
export function EnrolmentSearch({ filters }: { filters: EnrolmentFilters }) {
  usePageTitle("Enrolments")
  const results = useInfiniteQuery({
    ...searchEnrolmentsInfiniteOptions({ query: searchQuery(filters) }),
    ...cursorPaging,
  })
  const items = results.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <h1 className="text-2xl font-semibold">Enrolments</h1>
      <p className="mt-1 text-slate-700">Find an enrolment to read its work and history, or to repair it.</p>
      {/* The form starts again from the address whenever a search is made or a link followed. */}
      <SearchForm key={JSON.stringify(filters)} filters={filters} />
      <section aria-labelledby="results-heading" className="mt-6">
        <h2 id="results-heading" className="text-lg font-semibold">
          Results
        </h2>
        <div className="mt-3">
          {results.isPending && <p role="status">Searching…</p>}
          {results.isError && (
            <Alert tone="danger" role="alert">
              {errorMessage(results.error)}
            </Alert>
          )}
          {results.isSuccess && items.length === 0 && <p role="status">No enrolment matches this search.</p>}
          {items.length > 0 && <ResultsTable items={items} />}
          {results.hasNextPage && (
            <Button
              variant="secondary"
              className="mt-4"
              disabled={results.isFetchingNextPage}
              onClick={() => void results.fetchNextPage()}
            >
              {results.isFetchingNextPage ? "Loading…" : "Show more"}
            </Button>
          )}
        </div>
      </section>
    </>
  )
}

function SearchForm({ filters }: { filters: EnrolmentFilters }) {
  const id = useId()
  const navigate = useNavigate()
  const credentials = useCredentials()
  const [member, setMember] = useState(filters.member ?? "")
  const [credential, setCredential] = useState(filters.credential ?? "")
  const [status, setStatus] = useState<Status | "">(filters.status ?? "")
  const [enrolment, setEnrolment] = useState(filters.enrolment ?? "")

  const search = (event: SubmitEvent) => {
    event.preventDefault()
    void navigate({
      to: "/admin/enrolments",
      search: {
        member: member.trim() || undefined,
        credential: credential || undefined,
        status: status || undefined,
        enrolment: enrolment.trim() || undefined,
      },
    })
  }

  return (
    <Card className="mt-6" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`} className="sr-only">
        Search
      </h2>
      <form role="search" aria-label="Enrolments" onSubmit={search} className="grid gap-4 sm:grid-cols-2">
        <div>
          <Label htmlFor={`${id}-member`}>Member</Label>
          <Input
            id={`${id}-member`}
            className="mt-1"
            value={member}
            aria-describedby={`${id}-member-hint`}
            onChange={(e) => setMember(e.target.value)}
          />
          <p id={`${id}-member-hint`} className="mt-1 text-xs text-slate-700">
            Their user id, or part of their name or email.
          </p>
        </div>
        <div>
          <Label htmlFor={`${id}-credential`}>Micro-credential</Label>
          <Select
            id={`${id}-credential`}
            className="mt-1"
            value={credential}
            onChange={(e) => setCredential(e.target.value)}
          >
            <option value="">Any micro-credential</option>
            {credentials.items.map((c) => (
              <option key={c.id} value={c.id}>
                {c.title} ({c.id}){c.retired_at ? ", retired" : ""}
              </option>
            ))}
          </Select>
        </div>
        <div>
          <Label htmlFor={`${id}-status`}>Status</Label>
          <Select
            id={`${id}-status`}
            className="mt-1"
            value={status}
            onChange={(e) => setStatus(e.target.value as Status | "")}
          >
            <option value="">Any status</option>
            {(Object.keys(STATUS) as Status[]).map((s) => (
              <option key={s} value={s}>
                {STATUS[s].words}
              </option>
            ))}
          </Select>
        </div>
        <div>
          <Label htmlFor={`${id}-enrolment`}>Enrolment id</Label>
          <Input id={`${id}-enrolment`} className="mt-1" value={enrolment} onChange={(e) => setEnrolment(e.target.value)} />
        </div>
        <div className="flex gap-3 sm:col-span-2">
          <Button type="submit">Search</Button>
          <Button asChild variant="secondary">
            <Link to="/admin/enrolments" search={{}}>
              Clear the search
            </Link>
          </Button>
        </div>
      </form>
    </Card>
  )
}

function ResultsTable({ items }: { items: AdminEnrolmentItem[] }) {
  const evaluators = useEvaluators()
  const names = new Map(evaluators.items.map((e) => [e.id, e.name]))
  return (
    <Table>
      <caption className="sr-only">Enrolments matching the search, newest first</caption>
      <thead>
        <tr>
          <Th>Member</Th>
          <Th>Micro-credential</Th>
          <Th>Status</Th>
          <Th>Attempt</Th>
          <Th>Due</Th>
          <Th>Review due</Th>
          <Th>Evaluator</Th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.enrolment_id}>
            <Td>
              {item.member_name}
              <span className="block text-xs text-slate-700">{item.member_email ?? item.member_id}</span>
            </Td>
            <Td>
              <Link
                to="/admin/enrolments/$enrolmentId"
                params={{ enrolmentId: item.enrolment_id }}
                className="font-medium"
              >
                {item.title}
                <span className="sr-only"> of {item.member_name}</span>
              </Link>
            </Td>
            <Td>
              <StatusPill tone={STATUS[item.status].tone}>{STATUS[item.status].words}</StatusPill>
            </Td>
            <Td>{item.attempt}</Td>
            <Td>{formatDate(item.due_at)}</Td>
            <Td>
              {formatDate(item.review_due_at)}
              {item.review_overdue && (
                <StatusPill tone="danger" className="ml-2">
                  Overdue
                </StatusPill>
              )}
            </Td>
            <Td>{item.evaluator_id ? (names.get(item.evaluator_id) ?? item.evaluator_id) : "—"}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  )
}
