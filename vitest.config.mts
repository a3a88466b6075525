import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Native addons and child processes: separate processes isolate them best.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The default output, then the list of tests skipped for want of a peer tool (tests/helpers.ts).
    reporters: ['default', './scripts/vitest-peer-skips.mjs'],
  },
})
