/**
 * Starts `microcred dev` on free ports with a fresh data folder, as a newcomer would run it, and
 * stops it (SIGTERM, as Ctrl-C) when the tests are done. The tests find it at MICROCRED_E2E_URL.
 * Beside it runs an OpenID Connect provider (tests/e2e/oidc_provider.py) that the stack signs in
 * with too, as a production deployment does; its address is MICROCRED_E2E_OIDC.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"

const STARTUP_MS = 120_000

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port)
        else reject(new Error("no port"))
      })
    })
  })
}

/** The provider's users: what its ID tokens say of each. */
export const PROVIDER_USERS = [{ sub: "oidc-member", role: "member", name: "Olive Member", email: "olive@example.org" }]

async function listening(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`nothing answers at ${url}`)
}

function started(dev: ChildProcess, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`microcred dev did not start:\n${log.join("")}`)), STARTUP_MS)
    const watch = (chunk: Buffer) => {
      log.push(chunk.toString())
      if (log.join("").includes("Ctrl-C stops everything")) {
        clearTimeout(timer)
        resolve()
      }
    }
    dev.stdout?.on("data", watch)
    dev.stderr?.on("data", watch)
    dev.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`microcred dev exited with ${String(code)}:\n${log.join("")}`))
    })
  })
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const microcred = process.env.MICROCRED_BIN ?? path.resolve(import.meta.dirname, "../../.venv/bin/microcred")
  const python = path.join(path.dirname(microcred), "python")
  const dataDir = mkdtempSync(path.join(tmpdir(), "microcred-e2e-"))
  const [api, temporal, ui, oidc] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MICROCRED_")))

  const issuer = `http://localhost:${String(oidc)}`
  const provider = spawn(
    python,
    ["-m", "tests.e2e.oidc_provider", "--port", String(oidc), ...PROVIDER_USERS.flatMap((u) => ["--user", JSON.stringify(u)])],
    { cwd: path.resolve(import.meta.dirname, "../.."), env: inherited, stdio: "ignore" },
  )
  await listening(`${issuer}/.well-known/openid-configuration`)
  process.env.MICROCRED_E2E_OIDC = issuer

  const environment = { ...inherited, MICROCRED_OIDC_ISSUER: issuer, MICROCRED_OIDC_CLIENT_ID: "microcred-web" }
  const dev = spawn(
    microcred,
    ["dev", "--port", String(api), "--temporal-port", String(temporal), "--ui-port", String(ui), "--data-dir", dataDir],
    { env: environment, stdio: ["ignore", "pipe", "pipe"] },
  )
  const log: string[] = []
  await started(dev, log)
  process.env.MICROCRED_E2E_URL = `http://localhost:${api}`
  return async () => {
    const exited = new Promise((resolve) => dev.once("exit", resolve))
    dev.kill("SIGTERM")
    await exited
    provider.kill("SIGTERM")
    rmSync(dataDir, { recursive: true, force: true })
  }
}
