/**
 * The admins' desk in the browser: publish a credential (the refused field says why, under it),
 * register an evaluator, clear the attention list, take an evaluator off duty and hand their
 * review over in one click, find an enrolment, extend its deadline and cancel it with a refund;
 * every repair shows in the enrolment's timeline. The members' steps go through the API.
 */
import { type Page } from "@playwright/test"

import { type Api, checkScreen, expect, paidEnrolment, signIn, test, unique } from "./fixtures"

const DEMO_EVALUATOR = "demo-evaluator"

interface AdminEnrolment {
  status: string
  evaluator_id: string | null
  member_name: string
}

/** A credential of the test's own (one section, one task), published through the API. */
async function publishCredential(admin: Api): Promise<{ id: string; title: string }> {
  const id = unique("coaching")
  const title = `Coaching ${id.slice(-6)}`
  await admin.call(
    "POST",
    "/credentials",
    {
      id,
      title,
      price: { amount: 4900, currency: "usd" },
      resubmission_price: { amount: 900, currency: "usd" },
      sections: [
        {
          id: "practice",
          title: "Practice",
          tasks: [{ id: "practice-examples", prompt: "Your three examples.", required: true }],
          rubric: [{ id: "practice-actionable", title: "Actionable", description: "Students can act on it." }],
        },
      ],
    },
    201,
  )
  return { id, title }
}

/** A member's enrolment of ``credentialId``, paid, answered and submitted for review. */
async function submitted(member: Api, admin: Api, credentialId: string): Promise<AdminEnrolment & { id: string }> {
  const id = await paidEnrolment(member, credentialId)
  await member.call("PUT", `/enrolments/${id}/tasks/practice-examples`, { response: "Three examples, with the work." })
  await member.call("POST", `/enrolments/${id}/submit`, { agree_terms: true })
  await expect.poll(async () => (await enrolment(admin, id)).status).toBe("under_review")
  return { id, ...(await enrolment(admin, id)) }
}

function enrolment(admin: Api, id: string): Promise<AdminEnrolment> {
  return admin.call<AdminEnrolment>("GET", `/admin/enrolments/${id}`)
}

async function setDuty(admin: Api, sub: string, onDuty: boolean): Promise<void> {
  await admin.call("PUT", `/evaluators/${sub}/duty`, { on_duty: onDuty })
}

function nav(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name })
}

test("an admin publishes a credential, fixing the field the API refused, then retires it", async ({ page }) => {
  await signIn(page, unique("admin"), "admin")
  await expect(page.getByRole("heading", { level: 1, name: "Enrolments" })).toBeVisible()
  await expect(page.getByRole("table", { name: /Enrolments matching the search/ }).or(page.getByText("No enrolment matches"))).toBeVisible()
  await checkScreen(page, "admin-enrolments")

  await nav(page, "Catalog").click()
  await expect(page.getByRole("heading", { level: 1, name: "Catalog" })).toBeVisible()
  await expect(page.getByRole("region", { name: "Feedback for learning", exact: true })).toContainText("$79.00")
  await checkScreen(page, "admin-catalog")

  // A new version starts from the published document, under a suggested new id.
  await page.getByRole("link", { name: "Publish a new version of Feedback for learning" }).click()
  await expect(page.getByRole("heading", { level: 1, name: "Publish a new version of Feedback for learning" })).toBeVisible()
  const id = page.getByRole("textbox", { name: "Id", exact: true })
  await expect(id).toHaveValue("feedback-for-learning-v2")
  const credentialId = unique("feedback")
  const title = `Feedback for learning ${credentialId.slice(-6)}`
  await id.fill(credentialId)
  await page.getByRole("textbox", { name: "Title", exact: true }).fill(title)
  await expect(page.getByRole("textbox", { name: "Sections" })).toHaveValue(/practice-examples/)

  // A payment window of two days is refused: the message is under that field, which takes the focus.
  const paymentWindow = page.getByRole("textbox", { name: "Payment window" })
  await paymentWindow.fill("P2D")
  await page.getByRole("button", { name: "Publish", exact: true }).click()
  await expect(page.getByRole("alert").filter({ hasText: "The credential was not published" })).toBeVisible()
  await expect(paymentWindow).toHaveAttribute("aria-invalid", "true")
  await expect(paymentWindow).toHaveAccessibleDescription(/payment_window must be between PT30M and PT24H/)
  await expect(paymentWindow).toBeFocused()
  await expect(page.getByRole("textbox", { name: "Title", exact: true })).not.toHaveAttribute("aria-invalid")
  await checkScreen(page, "admin-credential-editor-error")

  await paymentWindow.fill("PT2H")
  await page.getByRole("button", { name: "Publish", exact: true }).click()
  await expect(page.getByText(`${title} is published.`)).toBeVisible()
  await expect(page).toHaveURL(/\/admin\/catalog$/)
  const published = page.getByRole("region", { name: title })
  await expect(published).toContainText(credentialId)
  await expect(published).toContainText("Available")

  // Retiring asks for a reason, then says what it means before doing it.
  await published.getByText("Retire this credential").click()
  await published.getByRole("textbox", { name: "Reason (required)" }).fill("Replaced by the next edition")
  await published.getByRole("button", { name: `Retire ${title}` }).click()
  const dialog = page.getByRole("alertdialog", { name: `Retire ${title}?` })
  await expect(dialog).toContainText("No new purchases; running enrolments continue.")
  await dialog.getByRole("button", { name: "Retire" }).click()
  await expect(published).toContainText(/Retired on \d+ \w+ \d{4}/)
})

test("an admin registers an evaluator, clears the attention list and hands an off-duty evaluator's review over", async ({
  page,
  api,
}) => {
  const adminId = unique("admin")
  const admin = await api(adminId, "admin")
  const credential = await publishCredential(admin)
  const evaluatorId = unique("evaluator")
  const evaluatorName = `Evaluator ${evaluatorId.slice(-6)}`
  const held = (name: string) => page.getByRole("region", { name: `Reviews held by ${name}` })
  const row = (name: string) => page.getByRole("row").filter({ hasText: name })

  try {
    await signIn(page, adminId, "admin")
    await nav(page, "Evaluators").click()
    await expect(page.getByRole("heading", { level: 1, name: "Evaluators" })).toBeVisible()

    // Register them for the new credential only; they start on duty.
    const form = page.getByRole("region", { name: "Add an evaluator" })
    await form.getByRole("textbox", { name: "User id" }).fill(evaluatorId)
    await form.getByRole("textbox", { name: "Name" }).fill(evaluatorName)
    await form.getByRole("textbox", { name: "Email" }).fill(`${evaluatorId}@example.org`)
    await form.getByRole("radio", { name: "Only these credentials" }).check()
    await form.getByRole("checkbox", { name: credential.title }).click()
    await form.getByRole("button", { name: "Add the evaluator" }).click()
    await expect(row(evaluatorName)).toContainText(credential.title)
    await expect(row(evaluatorName)).toContainText("On duty")
    await checkScreen(page, "admin-evaluators")

    // Off duty, nobody can take a review of the new credential: it waits in Attention.
    await row(evaluatorName).getByRole("button", { name: `Take off duty: ${evaluatorName}` }).click()
    await expect(row(evaluatorName)).toContainText("Off duty")
    const first = await submitted(await api(unique("member"), "member"), admin, credential.id)
    expect(first.evaluator_id).toBeNull()

    await nav(page, "Attention").click()
    await expect(page.getByRole("heading", { level: 1, name: "Attention" })).toBeVisible()
    const waiting = page.getByRole("region", { name: `Nobody holds this review: ${credential.title}` })
    await expect(waiting).toContainText(first.member_name)
    await expect(waiting.getByRole("textbox", { name: "Reason (required)" })).toHaveValue("Unassigned review")
    await checkScreen(page, "admin-attention")
    await waiting.getByRole("button", { name: "Reassign to the least loaded evaluator" }).click()
    await expect(waiting.getByRole("alert")).toContainText("No other eligible evaluator can take this review.")

    // Back on duty, the review goes to them and leaves the list.
    await nav(page, "Evaluators").click()
    await row(evaluatorName).getByRole("button", { name: `Put on duty: ${evaluatorName}` }).click()
    await expect(row(evaluatorName)).toContainText("On duty")
    await nav(page, "Attention").click()
    await waiting.getByRole("button", { name: "Reassign to the least loaded evaluator" }).click()
    await expect(page.getByText("The review was reassigned.")).toBeVisible()
    await expect(waiting).toHaveCount(0)

    // Now for every credential; with demo-evaluator off duty, a review of a demo credential is theirs.
    await nav(page, "Evaluators").click()
    await row(evaluatorName).getByRole("button", { name: `Edit ${evaluatorName}` }).click()
    const editing = page.getByRole("region", { name: `Edit ${evaluatorName}` })
    await expect(editing.getByRole("textbox", { name: "Name" })).toBeFocused()
    await editing.getByRole("radio", { name: "All credentials" }).check()
    await editing.getByRole("button", { name: "Save" }).click()
    await expect(row(evaluatorName)).toContainText("All credentials")
    await setDuty(admin, DEMO_EVALUATOR, false)
    const second = await submitted(await api(unique("member"), "member"), admin, "feedback-for-learning")
    await expect.poll(async () => (await enrolment(admin, second.id)).evaluator_id).toBe(evaluatorId)
    await setDuty(admin, DEMO_EVALUATOR, true)

    // Off duty, their reviews are handed over one click each (to the least loaded: demo-evaluator).
    await page.reload()
    await expect(row(evaluatorName).getByRole("cell").nth(4)).toHaveText("2")
    await row(evaluatorName).getByRole("button", { name: `Take off duty: ${evaluatorName}` }).click()
    await expect(held(evaluatorName)).toContainText("Off duty: reassign these")
    await held(evaluatorName)
      .getByRole("button", { name: `Reassign the review of Feedback for learning by ${second.member_name}` })
      .click()
    await expect(held(evaluatorName).getByRole("listitem")).toHaveCount(1)
    await expect(held(evaluatorName)).toContainText(credential.title)
    await expect(row(evaluatorName).getByRole("cell").nth(4)).toHaveText("1")

    // The enrolment says who holds it now, and its timeline who moved it and why.
    await page.goto(`/admin/enrolments/${second.id}`)
    await expect(page.getByRole("heading", { level: 1, name: "Feedback for learning" })).toBeVisible()
    await expect(page.getByRole("definition").filter({ hasText: "Demo Evaluator" })).toBeVisible()
    await expect(page.getByRole("region", { name: "Reassign the review" })).toBeVisible()
    await expect(page.getByRole("region", { name: "Extend the deadline" })).toHaveCount(0)
    const timeline = page.getByRole("region", { name: "Timeline" })
    await expect(timeline.getByRole("listitem").filter({ hasText: "Review reassigned" })).toContainText(
      `by ${adminId}`,
    )
    await expect(timeline).toContainText(`Reason: ${evaluatorName} is off duty`)
    await checkScreen(page, "admin-enrolment-under-review")

    // Leave demo-evaluator's queue as it was for the specs after this one.
    await admin.call("POST", `/admin/enrolments/${second.id}/cancellation`, { reason: "End of the test", refund: true })
  } finally {
    // Later specs count on demo-evaluator on duty, and on no one else taking every credential's reviews.
    await setDuty(admin, DEMO_EVALUATOR, true)
    await setDuty(admin, evaluatorId, false).catch(() => undefined) // unless it was never registered
  }
})

test("an admin finds an enrolment, extends its deadline and cancels it with a refund", async ({ page, api }) => {
  const memberId = unique("member")
  const enrolmentId = await paidEnrolment(await api(memberId, "member"), "feedback-for-learning")
  const adminId = unique("admin")
  await signIn(page, adminId, "admin")

  // The search lives in the address; each row opens its enrolment.
  const search = page.getByRole("search", { name: "Enrolments" })
  await search.getByRole("textbox", { name: "Member" }).fill(memberId)
  await search.getByRole("combobox", { name: "Status" }).selectOption({ label: "In progress" })
  await search.getByRole("combobox", { name: "Micro-credential" }).selectOption("feedback-for-learning")
  await search.getByRole("button", { name: "Search" }).click()
  await expect(page).toHaveURL(new RegExp(`member=${memberId}`))
  await expect(page).toHaveURL(/status=in_progress/)
  const results = page.getByRole("table", { name: /Enrolments matching the search/ })
  await expect(results.getByRole("row")).toHaveCount(2)
  await expect(results.getByRole("row").nth(1)).toContainText("In progress")
  await page.reload()
  await expect(search.getByRole("textbox", { name: "Member" })).toHaveValue(memberId)
  await results.getByRole("link", { name: /^Feedback for learning of / }).click()
  await expect(page).toHaveURL(new RegExp(`/admin/enrolments/${enrolmentId}$`))
  await expect(page.getByRole("heading", { level: 1, name: "Feedback for learning" })).toBeVisible()
  await expect(page.getByRole("region", { name: "Reassign the review" })).toHaveCount(0)

  // Extend: the reason is required; the new date and the event show at once.
  const extend = page.getByRole("region", { name: "Extend the deadline" })
  await extend.getByRole("combobox", { name: "Extend by" }).selectOption({ label: "14 days" })
  await extend.getByRole("button", { name: "Extend the deadline" }).click()
  await expect(extend.getByRole("textbox", { name: "Reason (required)" })).toHaveAccessibleDescription(
    /Give a reason/,
  )
  await extend.getByRole("textbox", { name: "Reason (required)" }).fill("Illness, with a note from the school")
  await extend.getByRole("button", { name: "Extend the deadline" }).click()
  await expect(page.getByText(/^The deadline is now /)).toBeVisible()
  const timeline = page.getByRole("region", { name: "Timeline" })
  const extended = timeline.getByRole("listitem").filter({ hasText: "Deadline extended" })
  await expect(extended).toContainText(`by ${adminId}`)
  await expect(extended).toContainText("Reason: Illness, with a note from the school")
  await checkScreen(page, "admin-enrolment")

  // Any notification can be sent again, with a reason.
  await page.getByRole("button", { name: /^Re-send “Receipt: Feedback for learning”/ }).click()
  const resend = page.getByRole("region", { name: "Re-send “Receipt: Feedback for learning”" })
  await expect(resend.getByRole("textbox", { name: "Reason (required)" })).toBeFocused()
  await resend.getByRole("textbox", { name: "Reason (required)" }).fill("The member lost the receipt")
  await resend.getByRole("button", { name: "Send again" }).click()
  await expect(timeline.getByRole("listitem").filter({ hasText: "Notification sent again" })).toContainText(
    "Reason: The member lost the receipt",
  )
  await expect(resend).toHaveCount(0)

  // Cancel with a refund: a confirmation says what happens first.
  const cancel = page.getByRole("region", { name: "Cancel the enrolment" })
  await cancel.getByRole("radio", { name: "Refund the payment" }).check()
  await cancel.getByRole("textbox", { name: "Reason (required)" }).fill("Asked to stop: changed schools")
  await cancel.getByRole("button", { name: "Cancel the enrolment" }).click()
  const dialog = page.getByRole("alertdialog", { name: "Cancel this enrolment?" })
  await expect(dialog).toContainText("Their payment for this attempt is refunded")
  await checkScreen(page, "admin-cancel-confirmation")
  await dialog.getByRole("button", { name: "Cancel the enrolment" }).click()
  await expect(page.getByText("The enrolment was cancelled.")).toBeVisible()
  await expect(page.getByRole("definition").filter({ hasText: "Cancelled" }).first()).toBeVisible()
  await expect(timeline.getByRole("listitem").filter({ has: page.getByText("Cancelled", { exact: true }) })).toContainText(
    "Reason: Asked to stop: changed schools",
  )
  await expect(timeline.getByText("Payment refunded", { exact: true })).toBeVisible()
  await expect(page.getByRole("region", { name: "Payments" }).getByRole("row").nth(1)).toContainText("Refunded")
  await expect(page.getByText("No repair applies to an enrolment that is cancelled.")).toBeVisible()
})
