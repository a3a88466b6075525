import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ESM script shared with `npm run flood`
import { flood, rssLimit } from '../scripts/flood-lib.mjs'

describe('memory budget under a write flood', () => {
  it('10 x maxBytes of mixed sizes from several clients: every stats sample within maxBytes, RSS within the idle daemon RSS + budget x 1.15 + 32 MiB', async () => {
    const maxBytes = 64 * 1024 * 1024
    const r = await flood({ maxBytes })
    console.log(`flood: ${(r.written / 1048576).toFixed(0)} MiB in ${r.seconds.toFixed(1)} s, ${r.samples} samples, peak RSS ${(r.peakRss / 1048576).toFixed(1)} MiB (idle ${(r.idleRss / 1048576).toFixed(1)} MiB)`)
    expect(r.written).toBeGreaterThanOrEqual(10 * maxBytes)
    expect(r.samples).toBeGreaterThan(10)
    expect(r.overBudget).toBe(0)
    expect(r.maxSeen).toBeLessThanOrEqual(maxBytes)
    expect(r.evictions).toBeGreaterThan(0)
    expect(r.peakRss).toBeLessThanOrEqual(rssLimit(maxBytes, r.idleRss))
  }, 120_000)
})
