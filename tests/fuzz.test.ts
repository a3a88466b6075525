import { describe, expect, it } from 'vitest'
import { startDaemon } from './helpers'
// @ts-expect-error: a plain ESM script shared with `npm run fuzz`
import { fuzz } from '../scripts/fuzz-lib.mjs'

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 6)

describe('fuzzing the native protocol', () => {
  it(`answers every hostile input with a coded error or a close, and keeps serving (${SECONDS} s budget)`, async () => {
    const limits = { maxValueBytes: 4096, maxFrameBytes: 64 * 1024 }
    const daemon = await startDaemon({ ...limits, maxBytes: 16 * 1024 * 1024 })
    const problems: string[] = []
    const stats = await fuzz({
      path: daemon.socket,
      seconds: SECONDS,
      seed: 20261122,
      limits,
      control: () => daemon.client.ping(),
      onProblem: (c: { name: string }, o: { problem: string }) => problems.push(`${c.name}: ${o.problem}`),
    })
    console.log(`fuzz: ${stats.cases} cases (answered ${stats.answered}, closed ${stats.closed}), ${stats.problems} problems`)
    expect(problems).toEqual([])
    expect(stats.cases).toBeGreaterThan(500)
    expect(Object.keys(stats.byKind).length).toBeGreaterThanOrEqual(11)
    const s = await daemon.client.stats()
    expect(s.bytesCurrent).toBeLessThanOrEqual(s.bytesMax)
    await daemon.close()
  }, 60_000)
})
