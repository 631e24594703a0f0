// How soon My Learning shows a member's rows: `node bench/first-rows.mjs <base-url> <token> <rows> <visits>`.
// Each visit opens a new browser context (nothing cached: a first visit), signs in by the
// stored session, opens /learning and waits until the table has its rows; then one reload in
// the same context (assets cached). Prints JSON: milliseconds since navigation start.
import { chromium } from "@playwright/test"

const [base, token, rowsText, visitsText] = process.argv.slice(2)
const rows = Number(rowsText)
const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString())
const session = { token, sub: claims.sub, role: claims.role, name: claims.name ?? null, expiresAt: claims.exp * 1000, via: "dev" }

const browser = await chromium.launch({
  executablePath: process.env.MICROCRED_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
})
async function shown(page) {
  await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length >= n, rows, { polling: "raf", timeout: 60_000 })
  return page.evaluate(() => performance.now())
}
const first = []
const cached = []
for (let visit = 0; visit < Number(visitsText); visit++) {
  const context = await browser.newContext()
  await context.addInitScript((value) => localStorage.setItem("microcred.session", value), JSON.stringify(session))
  const page = await context.newPage()
  await page.goto(`${base}/learning`)
  first.push(await shown(page))
  await page.reload()
  cached.push(await shown(page))
  await context.close()
}
await browser.close()
console.log(JSON.stringify({ first_visit_ms: first, cached_visit_ms: cached }))
