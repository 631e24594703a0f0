import "./index.css"

import { QueryClientProvider } from "@tanstack/react-query"
import { createRouter, RouterProvider } from "@tanstack/react-router"
import { StrictMode } from "react"
import { createRoot } from "react-dom/client"

import { queryClient, whenSignedOut } from "./api/setup"
import { routeTree } from "./routeTree.gen"

const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: "intent",
  scrollRestoration: true,
})

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router
  }
}

// The API said the session is over: back to sign-in, then back here. Unsaved answers are kept
// in this browser as drafts and restored when the page opens again.
whenSignedOut(() => {
  queryClient.clear() // whoever signs in next sees nothing of this session's data
  const here = router.state.location.href
  void router.navigate({ to: "/sign-in", search: { redirect: here, expired: true } })
})

const root = document.getElementById("root")
if (!root) throw new Error("index.html has no #root")
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
)
