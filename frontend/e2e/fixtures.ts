/** What every browser test needs: the stack's URL, signing in, the API as someone, and a check
 *  of each screen (axe-core: no serious or critical violation; a screenshot kept for people). */
import { mkdirSync } from "node:fs"
import path from "node:path"

import AxeBuilder from "@axe-core/playwright"
import { expect, type Page, test as base } from "@playwright/test"

export type Role = "member" | "evaluator" | "admin"

const SCREENS = path.resolve(import.meta.dirname, "../test-results/screens")

export class Api {
  constructor(
    readonly baseURL: string,
    readonly token: string,
  ) {}

  static async as(baseURL: string, sub: string, role: Role): Promise<Api> {
    const response = await fetch(`${baseURL}/api/v1/auth/dev-token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sub, role }),
    })
    expect(response.status).toBe(201)
    const { access_token } = (await response.json()) as { access_token: string }
    return new Api(baseURL, access_token)
  }

  async call<T>(method: string, route: string, body?: unknown, expected = 200): Promise<T> {
    const response = await fetch(`${this.baseURL}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    expect(response.status, `${method} ${route}: ${text}`).toBe(expected)
    return (text ? JSON.parse(text) : null) as T
  }
}

/** A member's enrolment of ``credentialId``, bought and paid through the offline checkout. */
export async function paidEnrolment(member: Api, credentialId: string): Promise<string> {
  const created = await member.call<{ id: string; checkout_session_id: string }>(
    "POST",
    "/enrolments",
    { credential_id: credentialId },
    201,
  )
  const paid = await fetch(`${member.baseURL}/api/v1/checkout/${created.checkout_session_id}/pay`, {
    method: "POST",
    redirect: "manual",
  })
  expect(paid.status).toBe(303)
  await expect
    .poll(async () => (await member.call<{ status: string }>("GET", `/enrolments/${created.id}`)).status)
    .toBe("in_progress")
  return created.id
}

/** Evaluators registered for every credential would take a test credential's reviews: off duty. */
export async function onlyNamedEvaluators(admin: Api): Promise<void> {
  const evaluators = await admin.call<{ items: { id: string; all_credentials: boolean; on_duty: boolean }[] }>(
    "GET",
    "/evaluators?limit=200",
  )
  for (const e of evaluators.items.filter((e) => e.all_credentials && e.on_duty)) {
    await admin.call("PUT", `/evaluators/${e.id}/duty`, { on_duty: false })
  }
}

/** An evaluator ``sub`` who may review ``credentialId`` only. */
export async function registerEvaluator(admin: Api, sub: string, credentialId: string): Promise<void> {
  await admin.call("PUT", `/evaluators/${sub}`, {
    name: `Evaluator ${sub.slice(-6)}`,
    email: `${sub}@example.org`,
    all_credentials: false,
    credential_ids: [credentialId],
  })
}

/** A fresh id, so every run (and every test) has people and data of its own. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
}

export async function signIn(page: Page, sub: string, role: Role): Promise<void> {
  await page.goto(`/sign-in/dev?sub=${encodeURIComponent(sub)}&role=${role}`)
  await expect(page).not.toHaveURL(/sign-in/)
}

/** Screenshot the screen and check it with axe-core: no serious or critical violation. */
export async function checkScreen(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS, { recursive: true })
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`), fullPage: true })
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    .analyze()
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
  expect(
    serious.map((v) => `${v.id} (${v.impact ?? ""}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`),
    `accessibility of ${name}`,
  ).toEqual([])
}

export const test = base.extend<{ api: (sub: string, role: Role) => Promise<Api> }>({
  // The stack's address is known only once global-setup has started it.
  baseURL: async ({}, use) => {
    const url = process.env.MICROCRED_E2E_URL
    if (!url) throw new Error("MICROCRED_E2E_URL is unset: run through playwright.config.ts")
    await use(url)
  },
  api: async ({ baseURL }, use) => {
    await use((sub, role) => Api.as(baseURL ?? "", sub, role))
  },
})

export { expect }
