import type { QueryClient } from "@tanstack/react-query"
import { createRootRouteWithContext, Link, Outlet } from "@tanstack/react-router"
import { Toaster } from "sonner"

import { usePageTitle } from "@/lib/page-title"

export const Route = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Root,
  notFoundComponent: NotFound,
})

function Root() {
  return (
    <>
      <Outlet />
      <Toaster position="top-right" closeButton />
    </>
  )
}

function NotFound() {
  usePageTitle("Page not found")
  return (
    <main className="mx-auto max-w-xl p-8">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="mt-2">There is no page at this address.</p>
      <p className="mt-4">
        <Link to="/">Go to your home page</Link>
      </p>
    </main>
  )
}
