/**
 * Evidence files in the browser: a member uploads a PDF and a photo to a task, sees a refused
 * file say why, submits; the evaluator opens both beside the rubric. The admin's and the
 * member's setup steps go through the API (their screens have specs of their own).
 */
import { createHash } from "node:crypto"

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

/** A one-page PDF that says `text` (offsets computed, so any reader opens it). */
function pdf(text: string): Buffer {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${text.length + 34} >>\nstream\nBT /F1 18 Tf 24 72 Td (${text}) Tj ET\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ]
  let body = "%PDF-1.4\n"
  const offsets: number[] = []
  objects.forEach((object, i) => {
    offsets.push(body.length)
    body += `${i + 1} 0 obj\n${object}\nendobj\n`
  })
  const xref = body.length
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  body += offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(body, "latin1")
}

// A 2×2 PNG (red, green / blue, white).
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAE0lEQVR4nGP4z8DAsACIGf4DAQAclwWcT4AauwAAAABJRU5ErkJggg==",
  "base64",
)

async function publishCredential(admin: Api): Promise<{ id: string; title: string }> {
  const id = unique("classroom-evidence")
  const title = `Classroom evidence ${id.slice(-6)}`
  await admin.call(
    "POST",
    "/credentials",
    {
      id,
      title,
      summary: "Show your students' work.",
      price: { amount: 4900, currency: "usd" },
      resubmission_price: { amount: 900, currency: "usd" },
      sections: [
        {
          id: "evidence",
          title: "Evidence",
          tasks: [
            {
              id: "evidence-1",
              prompt: "Attach the unit plan and a photo of student work.",
              required: true,
              evidence: { accept: ["application/pdf", "image/*"], max_files: 3, max_bytes: 5_000_000 },
            },
          ],
          rubric: [{ id: "evidence-c", title: "Student work shown", description: "The files show it." }],
        },
      ],
    },
    201,
  )
  await onlyNamedEvaluators(admin)
  return { id, title }
}

test("a member uploads a PDF and a photo, submits, and the evaluator opens both", async ({ page, api, browser, baseURL }) => {
  const admin = await api(unique("admin"), "admin")
  const credential = await publishCredential(admin)
  const evaluatorId = unique("evaluator")
  await registerEvaluator(admin, evaluatorId, credential.id)
  const memberId = unique("member")
  const member = await api(memberId, "member")
  const enrolmentId = await paidEnrolment(member, credential.id)

  await signIn(page, memberId, "member")
  await page.goto(`/learning/${enrolmentId}`)
  await expect(page.getByRole("heading", { level: 1, name: credential.title })).toBeVisible()
  const files = page.getByRole("group", { name: "Files for this task" })
  await expect(files).toContainText("PDF, images; up to 3 files, 5.0 MB each.")

  // A file of a type the task does not take is refused in the browser, saying why.
  const picker = page.getByLabel("Add files for: Attach the unit plan and a photo of student work.")
  await picker.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("notes") })
  await expect(page.getByRole("alert").filter({ hasText: "notes.txt: This task takes PDF, images." })).toBeVisible()

  await picker.setInputFiles([
    { name: "unit-plan.pdf", mimeType: "application/pdf", buffer: pdf("Unit plan: rivers") },
    { name: "student-work.png", mimeType: "image/png", buffer: PNG },
  ])
  const kept = files.getByRole("list", { name: "Files kept" })
  await expect(kept.getByRole("link", { name: "unit-plan.pdf" })).toBeVisible()
  await expect(kept.getByRole("link", { name: "student-work.png" })).toBeVisible()
  await checkScreen(page, "task-files")

  // A file can be taken off again while the task is editable.
  await picker.setInputFiles({ name: "extra.png", mimeType: "image/png", buffer: PNG })
  await expect(kept.getByRole("link", { name: "extra.png" })).toBeVisible()
  await files.getByRole("button", { name: "Remove extra.png" }).click()
  await expect(kept.getByRole("link", { name: "extra.png" })).toHaveCount(0)

  // An upload cut off (a closed tab) holds its place and is listed; the same file again carries
  // on with it (a fresh declaration would be refused: the task's three places are taken).
  await member.call(
    "POST",
    `/enrolments/${enrolmentId}/tasks/evidence-1/attachments`,
    { filename: "later.png", content_type: "image/png", size: PNG.length, sha256: createHash("sha256").update(PNG).digest("hex") },
    201,
  )
  await page.reload()
  await expect(files.getByRole("list", { name: "Unfinished uploads" })).toContainText("later.png")
  await picker.setInputFiles({ name: "later.png", mimeType: "image/png", buffer: PNG })
  await expect(kept.getByRole("link", { name: "later.png" })).toBeVisible()
  await expect(files.getByRole("list", { name: "Unfinished uploads" })).toHaveCount(0)

  await page.getByRole("textbox", { name: /Attach the unit plan/ }).fill("The plan and one pupil's river map.")
  await expect(page.getByText(/Saved at/).first()).toBeVisible()
  await page.getByRole("checkbox", { name: "I agree to the terms and conditions" }).check()
  await page.getByRole("button", { name: "Submit for review" }).click()
  await expect(page.getByRole("status").filter({ hasText: "You submitted attempt 1" })).toBeVisible()
  // Submitted: the files are frozen with the attempt, and no longer removable.
  await expect(files.getByRole("button", { name: /^Remove/ })).toHaveCount(0)

  // The evaluator (assigned: the only one eligible) opens both files beside the rubric.
  const evaluatorPage = await (await browser.newContext({ baseURL })).newPage()
  await signIn(evaluatorPage, evaluatorId, "evaluator")
  await evaluatorPage.goto(`/reviews/${enrolmentId}`)
  await expect(evaluatorPage.getByRole("heading", { level: 1, name: credential.title })).toBeVisible()
  const submission = evaluatorPage.getByRole("region", { name: "Evidence" })
  await submission.getByRole("button", { name: "Open unit-plan.pdf" }).click()
  const viewer = submission.locator('iframe[title="unit-plan.pdf (preview)"]')
  await expect(viewer).toBeVisible()
  await expect(viewer).toHaveAttribute("src", /^blob:/)
  await submission.getByRole("button", { name: "Open student-work.png" }).click()
  const photo = submission.getByRole("img", { name: "student-work.png (preview)" })
  await expect(photo).toBeVisible()
  await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(2)
  await checkScreen(evaluatorPage, "review-files")

  // The download link serves the very bytes that were submitted.
  const download = await submission.getByRole("link", { name: "Download unit-plan.pdf" }).getAttribute("href")
  const fetched = await evaluatorPage.request.get(download ?? "")
  expect(fetched.status()).toBe(200)
  expect((await fetched.body()).toString("latin1")).toContain("Unit plan: rivers")
})
