/**
 * The evaluators' console in the browser: an evaluator claims a review nobody holds, marks the
 * rubric and requests a resubmission, then approves the second attempt with the first one at
 * hand; a review reassigned away while open says so instead of taking the decision.
 * The member's and the admin's steps go through the API (their screens have specs of their own).
 */
import { type Page } from "@playwright/test"

import {
  type Api,
  checkScreen,
  expect,
  onlyNamedEvaluators,
  paidEnrolment,
  registerEvaluator,
  signIn,
  test,
  unique,
} from "./fixtures"

/** A credential of this test's own, so its reviews go to this test's evaluators only. */
async function publishCredential(admin: Api): Promise<{ id: string; title: string }> {
  const id = unique("unit-design")
  const title = `Unit design ${id.slice(-6)}`
  await admin.call(
    "POST",
    "/credentials",
    {
      id,
      title,
      summary: "Design a unit and reflect on it.",
      price: { amount: 4900, currency: "usd" },
      resubmission_price: { amount: 900, currency: "usd" },
      sections: [
        {
          id: "design",
          title: "Design",
          tasks: [{ id: "design-1", prompt: "Describe the unit you designed.", required: true }],
          rubric: [{ id: "design-c", title: "Aligned design", description: "Goals and tasks fit." }],
        },
        {
          id: "reflect",
          title: "Reflect",
          tasks: [{ id: "reflect-1", prompt: "What did you learn?", required: true }],
          rubric: [{ id: "reflect-c", title: "Evidence", description: "Claims backed by student work." }],
        },
      ],
    },
    201,
  )
  await onlyNamedEvaluators(admin)
  return { id, title }
}

async function submitAttempt(member: Api, enrolmentId: string, answer: string): Promise<void> {
  await member.call("PUT", `/enrolments/${enrolmentId}/tasks/design-1`, { response: `A unit on rivers. ${answer}` })
  await member.call("PUT", `/enrolments/${enrolmentId}/tasks/reflect-1`, { response: answer })
  await member.call("POST", `/enrolments/${enrolmentId}/submit`, { agree_terms: true })
}

async function mark(page: Page, criterion: string, met: boolean, comment = ""): Promise<void> {
  const group = page.getByRole("group", { name: criterion })
  await group.getByRole("radio", { name: met ? "Met" : "Not met", exact: true }).check()
  if (comment) await group.getByRole("textbox", { name: `Comment on ${criterion}` }).fill(comment)
}

test("an evaluator claims, requests a resubmission, then approves the second attempt", async ({ page, api }) => {
  const admin = await api(unique("admin"), "admin")
  const credential = await publishCredential(admin)
  const memberId = unique("member")
  const member = await api(memberId, "member")
  const enrolmentId = await paidEnrolment(member, credential.id)
  await submitAttempt(member, enrolmentId, "Students mapped the river.")

  // Nobody was eligible when it was submitted: the review waits for an evaluator to claim it.
  const evaluator = unique("evaluator")
  await registerEvaluator(admin, evaluator, credential.id)
  await signIn(page, evaluator, "evaluator")
  await expect(page.getByRole("heading", { name: "Reviews" })).toBeVisible()
  const row = page.getByRole("row").filter({ hasText: credential.title })
  await expect(row.getByRole("cell", { name: /^Member / })).toBeVisible()
  await checkScreen(page, "reviews-queue")
  await row.getByRole("button", { name: /^Claim the review of/ }).click()

  // The submission section by section beside its rubric; the outcome follows from the marks.
  await expect(page.getByRole("heading", { level: 1, name: credential.title })).toBeVisible()
  const design = page.getByRole("region", { name: "Design" })
  await expect(design.getByText("A unit on rivers. Students mapped the river.")).toBeVisible()
  const decide = page.getByRole("button", { name: "Approve" })
  await expect(decide).toBeDisabled()
  await mark(page, "Aligned design", true)
  await mark(page, "Evidence", false)
  await expect(page.getByRole("button", { name: "Request to resubmit" })).toBeDisabled() // needs a comment
  await mark(page, "Evidence", false, "Show the students' maps.")
  await page.getByLabel("Overall feedback for the member").fill("A strong design; the reflection needs evidence.")
  await checkScreen(page, "review")
  await page.getByRole("button", { name: "Request to resubmit" }).click()
  const confirm = page.getByRole("alertdialog", { name: "Request to resubmit?" })
  await expect(confirm).toContainText("may start a resubmission to rework the section Reflect")
  await checkScreen(page, "review-confirmation")
  await confirm.getByRole("button", { name: "Request to resubmit" }).click()

  // Decided: the review has left the queue and shows in the evaluator's history.
  await expect(page.getByRole("heading", { name: "Decided" })).toBeVisible()
  const decided = page.getByRole("row").filter({ hasText: credential.title })
  await expect(decided.getByText("Request to resubmit")).toBeVisible()
  await checkScreen(page, "decided")
  await page.getByRole("navigation").getByRole("link", { name: "Reviews" }).click()
  await expect(page.getByRole("row").filter({ hasText: credential.title })).toHaveCount(0)

  // The member pays the resubmission and submits attempt 2, which comes back to this evaluator.
  const started = await member.call<{ checkout_session_id: string }>(
    "POST",
    `/enrolments/${enrolmentId}/resubmission`,
    undefined,
    201,
  )
  await fetch(`${member.baseURL}/api/v1/checkout/${started.checkout_session_id}/pay`, {
    method: "POST",
    redirect: "manual",
  })
  await expect
    .poll(async () => (await member.call<{ status: string }>("GET", `/enrolments/${enrolmentId}`)).status)
    .toBe("in_progress")
  await member.call("PUT", `/enrolments/${enrolmentId}/tasks/reflect-1`, {
    response: "Students mapped the river; their maps are in the unit plan.",
  })
  await member.call("POST", `/enrolments/${enrolmentId}/submit`, { agree_terms: true })

  await page.reload()
  await page.getByRole("link", { name: credential.title }).click()
  await expect(page.getByText(/attempt 2/)).toBeVisible()
  await page.getByText("Attempt 1: Request to resubmit").click()
  await expect(page.getByText("Show the students' maps.")).toBeVisible()
  await mark(page, "Aligned design", true)
  await mark(page, "Evidence", true)
  await page.getByRole("button", { name: "Approve" }).click()
  await expect(page.getByRole("alertdialog", { name: "Approve?" })).toContainText("receives its badge")
  await page.getByRole("alertdialog").getByRole("button", { name: "Approve" }).click()
  await expect(page.getByRole("heading", { name: "Decided" })).toBeVisible()
  await expect(page.getByRole("row").filter({ hasText: credential.title })).toHaveCount(2)

  // Read-only history: both attempts, as submitted and as marked.
  await page.getByRole("link", { name: credential.title }).first().click()
  await expect(page.getByText("Attempt 2: Approved")).toBeVisible()
  await checkScreen(page, "decided-review")
  await expect
    .poll(async () => (await member.call<{ status: string }>("GET", `/enrolments/${enrolmentId}`)).status)
    .toBe("approved")
})

test("a review reassigned away while open says so instead of taking the decision", async ({ page, api }) => {
  const admin = await api(unique("admin"), "admin")
  const credential = await publishCredential(admin)
  const first = unique("evaluator")
  await registerEvaluator(admin, first, credential.id)
  const member = await api(unique("member"), "member")
  const enrolmentId = await paidEnrolment(member, credential.id)
  await submitAttempt(member, enrolmentId, "Students mapped the river.")

  await signIn(page, first, "evaluator")
  await page.getByRole("link", { name: credential.title }).click()
  await mark(page, "Aligned design", true)
  await mark(page, "Evidence", true)

  // Meanwhile an admin hands the review to another evaluator.
  const second = unique("evaluator")
  await registerEvaluator(admin, second, credential.id)
  await admin.call("POST", `/admin/enrolments/${enrolmentId}/reassignment`, {
    evaluator_id: second,
    reason: "First evaluator is away",
  })

  await page.getByRole("button", { name: "Approve" }).click()
  await page.getByRole("alertdialog").getByRole("button", { name: "Approve" }).click()
  await expect(page.getByRole("alert").filter({ hasText: "reassigned to another evaluator" })).toBeVisible()
  await checkScreen(page, "review-reassigned-away")
  const state = await admin.call<{ status: string; evaluator_id: string }>("GET", `/admin/enrolments/${enrolmentId}`)
  expect([state.status, state.evaluator_id]).toEqual(["under_review", second])
})
