import { defineConfig } from "@playwright/test"

/**
 * Browser tests against a real `microcred dev` stack (started by e2e/global-setup.ts on free
 * ports and a fresh data folder), in Debian's Chromium: Playwright's own browser download cannot
 * work on these machines. `make test` runs them through pytest (tests/e2e/test_browser.py).
 */
export default defineConfig({
  testDir: "./e2e",
  globalSetup: "./e2e/global-setup.ts",
  timeout: 180_000,
  expect: { timeout: 20_000 },
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results/artifacts",
  use: {
    launchOptions: {
      executablePath: process.env.MICROCRED_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
    viewport: { width: 1280, height: 900 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
})
