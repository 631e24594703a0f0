import { useQueryClient } from "@tanstack/react-query"
import { Link, Outlet, useNavigate } from "@tanstack/react-router"
import { Bell, BookOpen, ClipboardCheck, History, Inbox, LibraryBig, LogOut, TriangleAlert, Users } from "lucide-react"
import type { ComponentType } from "react"

import { forgetProviderUser } from "@/auth/oidc"
import { clearSession, type Role, type Session, useSession } from "@/auth/session"
import { Button } from "@/components/ui/button"
import { authConfigOptions } from "@/client/@tanstack/react-query.gen"

interface NavItem {
  to: string
  label: string
  icon: ComponentType<{ className?: string; "aria-hidden"?: boolean }>
}

/** The left-hand navigation of each role; the first item is its home screen. */
const NAVIGATION: Record<Role, NavItem[]> = {
  member: [
    { to: "/learning", label: "My Learning", icon: BookOpen },
    { to: "/catalog", label: "Catalog", icon: LibraryBig },
    { to: "/notifications", label: "Notifications", icon: Bell },
  ],
  evaluator: [
    { to: "/reviews", label: "Reviews", icon: Inbox },
    { to: "/reviews/decided", label: "Decided", icon: History },
    { to: "/notifications", label: "Notifications", icon: Bell },
  ],
  admin: [
    { to: "/admin/enrolments", label: "Enrolments", icon: ClipboardCheck },
    { to: "/admin/attention", label: "Attention", icon: TriangleAlert },
    { to: "/admin/catalog", label: "Catalog", icon: LibraryBig },
    { to: "/admin/evaluators", label: "Evaluators", icon: Users },
    { to: "/notifications", label: "Notifications", icon: Bell },
  ],
}

export function AppShell() {
  const session = useSession()
  return (
    <div className="min-h-screen lg:flex">
      <a
        href="#content"
        className="sr-only z-50 rounded bg-white px-3 py-2 focus:not-sr-only focus:absolute focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <aside className="border-b border-slate-200 bg-white lg:sticky lg:top-0 lg:flex lg:h-screen lg:w-64 lg:shrink-0 lg:flex-col lg:border-r lg:border-b-0">
        <p className="px-5 pt-5 text-lg font-bold text-brand-800">microcred</p>
        <nav aria-label="Main" className="px-3 py-4 lg:flex-1">
          <ul className="flex flex-wrap gap-1 lg:flex-col">
            {session &&
              NAVIGATION[session.role].map(({ to, label, icon: Icon }) => (
                <li key={to}>
                  <Link
                    to={to}
                    activeOptions={{ exact: to === "/reviews" }}
                    className="flex items-center gap-3 rounded-md px-3 py-2 font-medium text-slate-800 no-underline hover:bg-slate-100"
                    activeProps={{ className: "bg-brand-50 text-brand-800", "aria-current": "page" }}
                  >
                    <Icon className="size-5" aria-hidden />
                    {label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        {session && <SignedIn session={session} />}
      </aside>
      <main id="content" className="min-w-0 flex-1 px-4 py-6 sm:px-8">
        <div className="mx-auto max-w-5xl">
          <Outlet />
        </div>
      </main>
    </div>
  )
}

function SignedIn({ session }: { session: Session }) {
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const signOut = async () => {
    if (session.via === "oidc") {
      const config = await queryClient.query(authConfigOptions())
      if (config.oidc) await forgetProviderUser(config.oidc)
    }
    clearSession()
    queryClient.clear() // nothing of this person's stays on screen for the next one
    await navigate({ to: "/sign-in" })
  }
  return (
    <div className="border-t border-slate-200 px-5 py-4 text-sm">
      <p className="truncate">
        <span className="font-medium">{session.name ?? session.sub}</span>
        <span className="block text-slate-700">Signed in as {session.role}</span>
      </p>
      <Button variant="secondary" size="sm" className="mt-2" onClick={() => void signOut()}>
        <LogOut className="size-4" aria-hidden />
        Sign out
      </Button>
    </div>
  )
}
