// The randomized near-cache coherence checker, on a short budget (npm run check:coherence
// runs it for longer): several writer and reader processes, forced lagged, blocked readers,
// dropped connections and a SIGSTOPped daemon; zero violations allowed.
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ESM script shared with `npm run check:coherence`
import { checkCoherence } from '../scripts/coherence-lib.mjs'

const SECONDS = Number(process.env.COHERENCE_SECONDS ?? 6)

describe('near-cache coherence', () => {
  it(`has no read-your-writes, monotonic-read or bounded-staleness violations (${SECONDS} s)`, async () => {
    const lines: string[] = []
    const result = await checkCoherence({ seconds: SECONDS, deltaMs: 100, log: (l: string) => lines.push(l) })
    console.log(`coherence: ${result.readsChecked} reads, ${result.writes} writes, ${result.totalViolations} violations, max staleness ${result.maxObservedStalenessMs} ms`)
    expect(result.violations).toEqual({ readYourWrites: 0, monotonicReads: 0, boundedStaleness: 0 })
    expect(result.readsChecked).toBeGreaterThan(10_000)
    // The disturbances really happened and really flushed near caches.
    expect(result.disturbances.lagged + result.disturbances.dropped + result.disturbances.stopped).toBeGreaterThanOrEqual(3)
    expect(result.near.flushes).toBeGreaterThan(0)
    // Every reader was flushed by the daemon's lagged notice at least once (the eviction burst).
    expect(result.near.flushReasons.lagged).toBeGreaterThan(0)
    expect(result.near.hits).toBeGreaterThan(0)
  }, 60_000)
})
