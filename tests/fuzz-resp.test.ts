import { describe, expect, it } from 'vitest'
import { startDaemon, tempSocketPath } from './helpers'
// @ts-expect-error: plain ESM scripts shared with `npm run fuzz`
import { fuzz } from '../scripts/fuzz-lib.mjs'
// @ts-expect-error: plain ESM scripts shared with `npm run fuzz -- --resp`
import { makeRespCase, runRespCase } from '../scripts/fuzz-resp-lib.mjs'

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 6)

describe('fuzzing the RESP listener', () => {
  it(`answers every hostile input with well-formed RESP or a protocol error and close, and keeps serving (${SECONDS} s budget)`, async () => {
    const limits = { maxValueBytes: 4096 }
    const respSocket = tempSocketPath()
    const daemon = await startDaemon({ maxValueBytes: limits.maxValueBytes, maxBytes: 16 * 1024 * 1024, respSocket })
    const problems: string[] = []
    const stats = await fuzz({
      path: respSocket,
      seconds: SECONDS,
      seed: 20261122,
      limits,
      makeCase: makeRespCase,
      runCase: runRespCase,
      control: () => daemon.client.ping(),
      onProblem: (c: { name: string }, o: { problem: string }) => problems.push(`${c.name}: ${o.problem}`),
    })
    console.log(`resp fuzz: ${stats.cases} cases (answered ${stats.answered}, closed ${stats.closed}), ${stats.problems} problems`)
    expect(problems).toEqual([])
    expect(stats.cases).toBeGreaterThan(500)
    expect(Object.keys(stats.byKind).length).toBeGreaterThanOrEqual(11)
    const s = await daemon.client.stats()
    expect(s.bytesCurrent).toBeLessThanOrEqual(s.bytesMax)
    await daemon.close()
  }, 60_000)
})
