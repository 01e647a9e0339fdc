import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// Served by `aidrop serve` at /app/ (api/webapp.py); `npm run dev` proxies the API to AIDROP_URL.
const api = process.env.AIDROP_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true },
      "/blobs": api,
    },
  },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
