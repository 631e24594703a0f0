/**
 * Signing in with the organisation's identity provider (OpenID Connect, authorization code with
 * PKCE, in the browser) and signing out. The stack trusts the test's provider as production
 * trusts its own: the API checks the provider's keys, audience and issuer.
 */
import { createHash } from "node:crypto"

import { checkScreen, expect, test } from "./fixtures"

test("a member signs in with the identity provider, and signs out", async ({ page }) => {
  await page.goto("/learning")
  await expect(page).toHaveURL(/\/sign-in/)
  await page.getByRole("button", { name: "Sign in with your organisation account" }).click()

  // The provider's own page (the test provider offers its users as buttons).
  await expect(page).toHaveURL(new RegExp(`^${process.env.MICROCRED_E2E_OIDC ?? ""}/oauth2/authorize`))
  const authorize = new URL(page.url())
  expect(authorize.searchParams.get("code_challenge_method")).toBe("S256")
  expect(authorize.searchParams.get("code_challenge")).toBeTruthy()
  // The code is redeemed with the verifier of that challenge (PKCE), and no client secret.
  const redeemed = page.waitForRequest((r) => r.url().endsWith("/oauth2/token") && r.method() === "POST")
  await page.getByRole("button", { name: "oidc-member" }).click()
  const form = new URLSearchParams((await redeemed).postData() ?? "")
  const verifier = form.get("code_verifier") ?? ""
  expect(createHash("sha256").update(verifier).digest("base64url")).toBe(authorize.searchParams.get("code_challenge"))
  expect(form.get("client_secret")).toBeNull()

  // Back in the app, signed in as the provider says, on the page first asked for.
  await expect(page.getByRole("heading", { name: "My Learning" })).toBeVisible()
  await expect(page).toHaveURL(/\/learning$/)
  await expect(page.getByText("Olive Member")).toBeVisible()
  await checkScreen(page, "signed-in-with-the-provider")

  await page.getByRole("button", { name: "Sign out" }).click()
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible()
  await page.goto("/learning")
  await expect(page).toHaveURL(/\/sign-in/)
})
