// The multi-host coherence checker with L2 on (npm run check:coherence -- --hosts 3 --bridge
// redis --l2 runs it for longer): zero violations; and its mutation (--l2-no-discard: an L2
// fill kept although a change of its key arrived while the read was in flight) must show them.
import { describe, expect, it } from 'vitest'
import { requireTool } from './helpers'
// @ts-expect-error: a plain ESM script shared with `npm run check:coherence`
import { checkMultiHostCoherence } from '../scripts/coherence-hosts.mjs'

const SECONDS = Number(process.env.COHERENCE_SECONDS ?? 8)
const tool = requireTool('redis-server')

describe.skipIf(tool.skip)(tool.title('multi-host coherence with L2'), () => {
  it(`3 hosts sharing L2: no read-your-writes, monotonic-read or bounded-staleness violations (${SECONDS} s)`, async () => {
    const result = await checkMultiHostCoherence({ seconds: SECONDS, hosts: 3, bridge: 'redis', l2: true, log: () => {} })
    console.log(`coherence with L2: ${result.readsChecked} reads, ${result.writes} writes, ${result.totalViolations} violations, max staleness ${result.maxObservedStalenessMs} ms`)
    expect(result.violations).toEqual({ readYourWrites: 0, monotonicReads: 0, boundedStaleness: 0 })
    expect(result.readsChecked).toBeGreaterThan(300)
  }, 90_000)

  // Not yet CI-sized: the race it needs (a write landing inside a reader's delayed L2 read, then
  // no later write of that key for δ) showed 360 violations in one 20 s run and none in a 16 s one.
  // Run it with COHERENCE_L2_MUTATION=1 (or npm run check:coherence -- ... --l2-no-discard --seconds 30).
  it.skipIf(!process.env.COHERENCE_L2_MUTATION)('the mutation (fills that ignore the fill rule) shows violations', async () => {
    const result = await checkMultiHostCoherence({ seconds: 4 * SECONDS, hosts: 3, bridge: 'redis', l2: true, l2NoDiscard: true, log: () => {} })
    console.log(`coherence with L2, no discard: ${result.totalViolations} violations, max staleness ${result.maxObservedStalenessMs} ms`)
    expect(result.totalViolations).toBeGreaterThan(0)
  }, 120_000)
})
