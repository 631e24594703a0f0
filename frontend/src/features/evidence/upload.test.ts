import { describe, expect, it } from "vitest"

import type { AttachmentUpload, UploadRequest } from "@/client"

import { contentType, formatBytes, PARALLEL_PARTS, send, sendPlan, sha256 } from "./upload"

const EXPIRES = "2026-12-08T12:00:00Z"

function multipart(total: number, partSize: number, received: number[]): AttachmentUpload {
  const count = Math.ceil(total / partSize)
  const numbers = Array.from({ length: count }, (_, i) => i + 1)
  const size = (n: number) => Math.min(partSize, total - (n - 1) * partSize)
  return {
    id: "att-1",
    upload: null,
    expires_at: EXPIRES,
    multipart: {
      part_size: partSize,
      part_count: count,
      received: received.map((number) => ({ number, size: size(number) })),
      parts: numbers
        .filter((n) => !received.includes(n))
        .map((number) => ({
          number,
          offset: (number - 1) * partSize,
          size: size(number),
          method: "PUT",
          url: `https://store.test/part/${number}`,
          headers: {},
        })),
    },
  }
}

/** A sender that records what it was asked to send, and fails the parts in `failing`. */
function recorder(failing: Set<number> = new Set()) {
  const sent: { url: string; bytes: string }[] = []
  let inFlight = 0
  let mostInFlight = 0
  const sender: typeof send = async (request: UploadRequest, body, onProgress) => {
    inFlight += 1
    mostInFlight = Math.max(mostInFlight, inFlight)
    await new Promise((resolve) => setTimeout(resolve, 1))
    inFlight -= 1
    const number = Number(request.url.split("/").pop())
    if (failing.has(number)) throw new Error("the connection dropped")
    sent.push({ url: request.url, bytes: await body.text() })
    onProgress(body.size)
  }
  return { sender, sent, mostInFlight: () => mostInFlight }
}

describe("sendPlan", () => {
  const file = new Blob(["aaaabbbbccccdd"])

  it("sends a small file whole, in one request", async () => {
    const { sender, sent } = recorder()
    const plan: AttachmentUpload = {
      id: "att-1",
      upload: { method: "PUT", url: "https://store.test/whole", headers: {} },
      multipart: null,
      expires_at: EXPIRES,
    }
    await sendPlan(plan, file, () => {}, undefined, sender)
    expect(sent).toEqual([{ url: "https://store.test/whole", bytes: "aaaabbbbccccdd" }])
  })

  it("sends each part's own bytes, a few at once, and reports the whole file's progress", async () => {
    const { sender, sent, mostInFlight } = recorder()
    const progress: number[] = []
    await sendPlan(multipart(14, 4, []), file, (loaded) => progress.push(loaded), undefined, sender)
    expect(Object.fromEntries(sent.map((s) => [s.url.split("/").pop(), s.bytes]))).toEqual({
      "1": "aaaa",
      "2": "bbbb",
      "3": "cccc",
      "4": "dd",
    })
    expect(mostInFlight()).toBeLessThanOrEqual(PARALLEL_PARTS)
    expect(mostInFlight()).toBeGreaterThan(1)
    expect(progress.at(-1)).toBe(14)
  })

  it("resumes: only the parts that did not arrive are sent, and progress starts from those that did", async () => {
    const { sender, sent } = recorder()
    const progress: number[] = []
    await sendPlan(multipart(14, 4, [1, 3]), file, (loaded) => progress.push(loaded), undefined, sender)
    expect(sent.map((s) => s.bytes).sort()).toEqual(["bbbb", "dd"])
    expect(progress[0]).toBe(8)
    expect(progress.at(-1)).toBe(14)
  })

  it("fails when a part fails, so the member can retry", async () => {
    const { sender } = recorder(new Set([2]))
    await expect(sendPlan(multipart(14, 4, []), file, () => {}, undefined, sender)).rejects.toThrow(
      "the connection dropped",
    )
  })
})

describe("sha256", () => {
  it("hashes the bytes, as the API will check them", async () => {
    // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    expect(await sha256(new Blob(["abc"]))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  })
})

describe("contentType and formatBytes", () => {
  it("falls back on the extension when the browser does not know the type", () => {
    expect(contentType(new File(["%PDF"], "plan.PDF"))).toBe("application/pdf")
    expect(contentType(new File(["x"], "notes", { type: "text/plain" }))).toBe("text/plain")
    expect(contentType(new File(["x"], "mystery.xyz"))).toBe("application/octet-stream")
  })

  it("shows sizes as people read them", () => {
    expect(formatBytes(512)).toBe("512 bytes")
    expect(formatBytes(1_500)).toBe("1.5 KB")
    expect(formatBytes(104_857_600)).toBe("105 MB")
    expect(formatBytes(2_000_000_000)).toBe("2.0 GB")
  })
})
