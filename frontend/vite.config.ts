import path from "node:path"
import tailwindcss from "@tailwindcss/vite"
import { tanstackRouter } from "@tanstack/router-plugin/vite"
import react from "@vitejs/plugin-react"
import { defineConfig } from "vite"

// `npm run dev` serves the app with hot reload and hands /api (and the API's own pages) to a
// running `microcred api` (`make dev` starts one on port 8000; MICROCRED_API overrides).
const api = process.env.MICROCRED_API ?? "http://127.0.0.1:8000"

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "./src") } },
  plugins: [tanstackRouter({ target: "react", autoCodeSplitting: true }), react(), tailwindcss()],
  server: {
    proxy: { "/api": api, "/.well-known": api, "/docs": api, "/openapi.json": api },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
})
