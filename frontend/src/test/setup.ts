import "@testing-library/jest-dom/vitest"

import { cleanup } from "@testing-library/react"
import { afterEach } from "vitest"

// Each test renders into a clean document (vitest runs without globals, so no automatic cleanup).
afterEach(cleanup)
