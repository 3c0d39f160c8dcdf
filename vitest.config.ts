import { defineConfig } from "vitest/config";

// Many tests spawn brokers and real clients; on a loaded 2-core machine a process start can
// take seconds, so the time limits are generous. Each test bounds its own waits.
export default defineConfig({
  test: {
    testTimeout: 30000,
    hookTimeout: 30000,
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup/features.ts"],
  },
});
