/**
 * Work is never lost: an answer typed when the session expires is kept and saved after signing
 * in again; an answer saved in another tab is never overwritten unseen.
 */
import { checkScreen, expect, paidEnrolment, signIn, test, unique } from "./fixtures"

test("an expired session returns to sign-in and keeps the unsaved answer", async ({ page, api }) => {
  const member = unique("member")
  const enrolmentId = await paidEnrolment(await api(member, "member"), "feedback-for-learning")
  await signIn(page, member, "member")
  await page.goto(`/learning/${enrolmentId}`)
  const examples = page.getByRole("textbox", { name: "Your three examples." })
  await examples.fill("First example, saved.")
  await expect(page.getByText(/Saved at/)).toBeVisible()

  // The session ends (here: the token stops being accepted) while the member is typing.
  await page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem("microcred.session") ?? "{}") as Record<string, unknown>
    localStorage.setItem("microcred.session", JSON.stringify({ ...session, token: "expired" }))
  })
  await examples.fill("First example, saved. Second example, typed as the session ended.")
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible()
  await expect(page.getByRole("status").filter({ hasText: "Your session has ended" })).toBeVisible()
  await checkScreen(page, "sign-in-session-ended")

  // Signing in again returns to the micro-credential, where the answer is restored and saved.
  await page.getByLabel("User id").fill(member)
  await page.getByRole("button", { name: "Sign in", exact: true }).click()
  await expect(page).toHaveURL(new RegExp(`/learning/${enrolmentId}`))
  await expect(examples).toHaveValue(/Second example, typed as the session ended/)
  await expect(page.getByText(/Saved at/)).toBeVisible()
  const saved = await (await api(member, "member")).call<{ sections: { tasks: { response: string }[] }[] }>(
    "GET",
    `/enrolments/${enrolmentId}`,
  )
  expect(saved.sections[0]?.tasks[0]?.response).toContain("Second example, typed as the session ended")
})

test("an answer saved in another tab is shown, never silently overwritten", async ({ context, api }) => {
  const member = unique("member")
  const enrolmentId = await paidEnrolment(await api(member, "member"), "feedback-for-learning")
  const first = await context.newPage()
  await signIn(first, member, "member")
  await first.goto(`/learning/${enrolmentId}`)
  const second = await context.newPage()
  await second.goto(`/learning/${enrolmentId}`)
  const box = (page: typeof first) => page.getByRole("textbox", { name: "Your three examples." })
  await expect(box(second)).toHaveValue("")

  await box(first).fill("Written in the first tab.")
  await expect(first.getByText(/Saved at/)).toBeVisible()
  await box(second).fill("Written in the second tab.")
  const conflict = second.getByRole("alert").filter({ hasText: "This answer was changed in another tab or device" })
  await expect(conflict).toBeVisible()
  await expect(second.getByText("Not saved: changed elsewhere.")).toBeVisible()
  await expect(second.getByRole("button", { name: "Submit for review" })).toBeDisabled()
  await conflict.getByText("Show the newer version").click()
  await expect(conflict.getByText("Written in the first tab.")).toBeVisible()
  await checkScreen(second, "answer-changed-in-another-tab")

  await conflict.getByRole("button", { name: "Keep my text" }).click()
  await expect(second.getByText(/Saved at/)).toBeVisible()
  await first.reload()
  await expect(box(first)).toHaveValue("Written in the second tab.")
})
