/**
 * A member's whole journey in the browser, as the help article describes it: buy, work in two
 * sessions with a reload between, submit, read the marked rubric, start and pay the
 * resubmission, edit only the failed section, resubmit, be approved, open the badge.
 * The evaluator's decisions go through the API (their screens have tests of their own).
 */
import { type Page } from "@playwright/test"

import { type Api, checkScreen, expect, signIn, test, unique } from "./fixtures"

const CREDENTIAL = "Inquiry in practice"
const CRITERIA = ["plan-coherent", "reflect-evidence", "reflect-next"]

async function decide(evaluator: Api, enrolmentId: string, unmet: string | null): Promise<void> {
  await evaluator.call("POST", `/reviews/${enrolmentId}/decision`, {
    outcome: unmet ? "resubmit" : "approved",
    feedback: unmet ? "Close! Show the students' work." : "Well evidenced.",
    marks: CRITERIA.map((id) => ({
      criterion_id: id,
      met: id !== unmet,
      comment: id === unmet ? "Show student work for each claim." : "",
    })),
  })
}

async function payOfflineCheckout(page: Page, name: string): Promise<void> {
  await page.waitForURL(/\/api\/v1\/checkout\/cs_/)
  await expect(page.getByRole("heading", { name: CREDENTIAL })).toBeVisible()
  await checkScreen(page, name)
  await page.getByRole("button", { name: /^Pay / }).click()
}

function answer(page: Page, prompt: RegExp) {
  return page.getByRole("textbox", { name: prompt })
}

test("a member buys, works, submits, resubmits and earns the badge", async ({ page, api }) => {
  const member = unique("member")
  const evaluator = await api("demo-evaluator", "evaluator")

  await page.goto("/")
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible()
  await checkScreen(page, "sign-in")

  await signIn(page, member, "member")
  await expect(page.getByRole("heading", { name: "My Learning" })).toBeVisible()
  await expect(page.getByText("No micro-credentials yet")).toBeVisible()
  await checkScreen(page, "my-learning-empty")

  // Buy from the catalog, pay at the (offline) checkout, land back on the micro-credential.
  await page.getByRole("link", { name: "Browse the catalog" }).click()
  await expect(page.getByRole("heading", { name: "Catalog" })).toBeVisible()
  await checkScreen(page, "catalog")
  await page.getByRole("button", { name: `Buy ${CREDENTIAL}` }).click()
  await payOfflineCheckout(page, "checkout")
  await expect(page).toHaveURL(/\/learning\/[^/?]+\?checkout=complete/)
  const enrolmentId = new URL(page.url()).pathname.split("/").pop() ?? ""
  await expect(page.getByText("In progress", { exact: true })).toBeVisible()

  // Session one: the sections expand to guidance, resources and rubric; one answer is saved.
  const plan = page.getByRole("button", { name: "Plan" })
  await expect(plan).toHaveAttribute("aria-expanded", "true")
  await plan.click()
  await expect(plan).toHaveAttribute("aria-expanded", "false")
  await plan.click()
  await expect(page.getByRole("link", { name: /Planning guide/ })).toBeVisible()
  await expect(page.getByText("Goals, activities and assessment fit together.")).toBeVisible()
  await answer(page, /Describe the unit/).fill("A unit on rivers, driven by: where does our water come from?")
  await expect(page.getByText(/Saved at/).first()).toBeVisible()
  const submit = page.getByRole("button", { name: "Submit for review" })
  await expect(submit).toBeDisabled()
  await expect(page.getByText("1 of 2 required tasks answered")).toBeVisible()
  await checkScreen(page, "micro-credential-in-progress")

  // Session two: after a reload the answer is there; the rest is answered, terms agreed, submitted.
  await page.reload()
  await expect(answer(page, /Describe the unit/)).toHaveValue(/A unit on rivers/)
  await answer(page, /What evidence of learning/).fill("Students wrote field reports.")
  await expect(page.getByText("2 of 2 required tasks answered")).toBeVisible()
  await expect(submit).toBeDisabled() // the terms are not agreed yet
  await page.getByRole("checkbox", { name: "I agree to the terms and conditions" }).check()
  await expect(submit).toBeEnabled()
  await submit.click()
  await expect(page.getByRole("status").filter({ hasText: "Submitted for review" })).toBeVisible()
  await expect(answer(page, /Describe the unit/)).toHaveAttribute("readonly", "")
  await checkScreen(page, "micro-credential-under-review")

  // My Learning shows the status to monitor, the title opening the micro-credential.
  await page.getByRole("navigation").getByRole("link", { name: "My Learning" }).click()
  const row = page.getByRole("row", { name: new RegExp(CREDENTIAL) })
  await expect(row.getByText("Under review", { exact: true })).toBeVisible()
  await expect(row.getByText(/Under review until/)).toBeVisible()
  await checkScreen(page, "my-learning")

  // The evaluator asks for a resubmission; the member reads the marked rubric.
  await decide(evaluator, enrolmentId, "reflect-evidence")
  await row.getByRole("link", { name: CREDENTIAL }).click()
  const marked = page.getByRole("region", { name: /Request to resubmit: the marked rubric/ })
  await expect(marked.getByRole("listitem").filter({ hasText: "Evidence-based reflection" })).toContainText(
    "Not met",
  )
  await expect(marked.getByRole("listitem").filter({ hasText: "Coherent plan" })).toContainText("Met")
  await expect(marked.getByText("Show student work for each claim.")).toBeVisible()
  await expect(marked.getByText("Close! Show the students' work.")).toBeVisible()
  await expect(page.getByText("Did not meet the standard", { exact: true })).toHaveCount(1)
  await checkScreen(page, "micro-credential-request-to-resubmit")

  // Start resubmission: confirm, pay the resubmission purchase, come back to edit.
  await page.getByRole("button", { name: "Start resubmission" }).click()
  await checkScreen(page, "start-resubmission-confirmation")
  await page.getByRole("button", { name: "Continue to payment" }).click()
  await payOfflineCheckout(page, "checkout-resubmission")
  await expect(page.getByText("In progress", { exact: true })).toBeVisible()

  // Only the failed section is editable; the approved work stays read-only.
  await expect(page.getByRole("button", { name: "Reflect" })).toHaveAttribute("aria-expanded", "true")
  await page.getByRole("button", { name: "Plan" }).click()
  await expect(answer(page, /Describe the unit/)).toHaveAttribute("readonly", "")
  await expect(answer(page, /What evidence of learning/)).not.toHaveAttribute("readonly", "")
  await answer(page, /What evidence of learning/).fill("Students wrote field reports; three are attached to the unit plan.")
  await expect(page.getByText(/Saved at/).first()).toBeVisible()
  await checkScreen(page, "micro-credential-resubmission")
  await page.getByRole("checkbox", { name: "I agree to the terms and conditions" }).check()
  await page.getByRole("button", { name: "Submit for review" }).click()
  await expect(page.getByRole("status").filter({ hasText: "You submitted attempt 2" })).toBeVisible()

  // Earlier attempts keep what was submitted and how it was marked.
  await page.getByText("Attempt 1: Request to resubmit").click()
  await expect(page.getByText("Students wrote field reports.", { exact: true })).toBeVisible()

  // Approved: the badge, its public page, "Add to LinkedIn profile", the earner's name by choice.
  await decide(evaluator, enrolmentId, null)
  await page.reload()
  await expect(page.getByRole("heading", { name: "Your badge" })).toBeVisible()
  await expect(page.getByRole("link", { name: /Add to LinkedIn profile/ })).toHaveAttribute("href", /linkedin\.com/)
  // The box follows the mutation (shown as chosen once it is under way): click, then expect it.
  const showName = page.getByRole("checkbox", { name: "Show my name on the badge's public page" })
  await showName.click()
  await expect(showName).toBeChecked()
  await expect(page.getByText("Saved: the badge's pages show what you chose.")).toBeVisible()
  await checkScreen(page, "micro-credential-approved")

  await page.getByRole("link", { name: "View the badge's public page" }).click()
  await expect(page.getByRole("heading", { level: 1, name: CREDENTIAL })).toBeVisible()
  await expect(page.getByText("Verified.")).toBeVisible()
  await expect(page.getByText(/^Awarded to Member /)).toBeVisible()
  await checkScreen(page, "badge")

  await page.goBack()
  await page.getByRole("navigation").getByRole("link", { name: "Notifications" }).click()
  await expect(page.getByRole("heading", { level: 2 }).first()).toBeVisible()
  await checkScreen(page, "notifications")
})
