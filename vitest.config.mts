import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Native addons and child processes: separate processes isolate them best.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
