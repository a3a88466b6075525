// The multi-host coherence checker on a short budget (npm run check:coherence -- --hosts 3
// --bridge redis|nats runs it for longer, and its --ignore-gaps mutation must fail): three
// bridged daemons, writers and readers on different hosts with near caches, a cut link, a
// SIGSTOPped daemon, the engine restarted empty and a daemon killed with -9; zero violations.
import { describe, expect, it } from 'vitest'
import { requireTool } from './helpers'
// @ts-expect-error: a plain ESM script shared with `npm run check:coherence`
import { checkMultiHostCoherence } from '../scripts/coherence-hosts.mjs'

const SECONDS = Number(process.env.COHERENCE_SECONDS ?? 6)

for (const [bridge, tool] of [['redis', requireTool('redis-server')], ['nats', requireTool('nats-server')]] as const) {
  describe.skipIf(tool.skip)(tool.title(`multi-host coherence over ${bridge}`), () => {
    it(`3 hosts: no read-your-writes, monotonic-read or bounded-staleness violations (${SECONDS} s)`, async () => {
      const lines: string[] = []
      const result = await checkMultiHostCoherence({ seconds: SECONDS, hosts: 3, bridge, log: (l: string) => lines.push(l) })
      console.log(`coherence over ${bridge}: ${result.readsChecked} reads, ${result.writes} writes, ${result.totalViolations} violations, max staleness ${result.maxObservedStalenessMs} ms (δ ${result.deltaMs} ms)`)
      expect(result.violations).toEqual({ readYourWrites: 0, monotonicReads: 0, boundedStaleness: 0 })
      expect(result.readsChecked).toBeGreaterThan(300)
      expect(Object.values(result.disturbances as Record<string, number>).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2)
      // Gaps really happened and really flushed near caches.
      expect(result.near.flushReasons.bridge_gap).toBeGreaterThan(0)
    }, 90_000)
  })
}
