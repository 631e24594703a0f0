import { defineConfig } from "@hey-api/openapi-ts"

// The API client is generated from microcred's OpenAPI document (`make client` writes
// openapi.json from the running code, then runs this); never edit src/client by hand.
export default defineConfig({
  input: "./openapi.json",
  output: { path: "./src/client" },
  plugins: [
    "@hey-api/client-fetch",
    "@hey-api/typescript",
    { name: "@hey-api/sdk", responseStyle: "data" },
    "@tanstack/react-query",
  ],
})
