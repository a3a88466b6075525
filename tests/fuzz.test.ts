// Fuzzing both protocols on a short budget (npm run fuzz [-- --resp] runs longer): every
// hostile input gets a coded error (or well-formed RESP) or a close, the daemon keeps serving
// another connection, and the store stays within its budget.
import { describe, expect, it } from 'vitest'
import { startDaemon, tempSocketPath } from './helpers'
// @ts-expect-error: a plain ESM script shared with `npm run fuzz`
import { fuzz } from '../scripts/fuzz-lib.mjs'
// @ts-expect-error: a plain ESM script shared with `npm run fuzz -- --resp`
import { makeRespCase, runRespCase } from '../scripts/fuzz-resp-lib.mjs'

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 6)
const limits = { maxValueBytes: 4096, maxFrameBytes: 64 * 1024 }

async function fuzzDaemon(protocol: 'native' | 'resp'): Promise<void> {
  const respSocket = protocol === 'resp' ? tempSocketPath() : undefined
  const daemon = await startDaemon({ ...limits, maxBytes: 16 * 1024 * 1024, respSocket })
  const problems: string[] = []
  const stats = await fuzz({
    path: respSocket ?? daemon.socket,
    seconds: SECONDS,
    seed: 20261122,
    limits,
    ...(protocol === 'resp' ? { makeCase: makeRespCase, runCase: runRespCase } : {}),
    control: () => daemon.client.ping(),
    onProblem: (c: { name: string }, o: { problem: string }) => problems.push(`${c.name}: ${o.problem}`),
  })
  console.log(`${protocol} fuzz: ${stats.cases} cases (answered ${stats.answered}, closed ${stats.closed}), ${stats.problems} problems`)
  expect(problems).toEqual([])
  expect(stats.cases).toBeGreaterThan(500)
  expect(Object.keys(stats.byKind).length).toBeGreaterThanOrEqual(11)
  const s = await daemon.client.stats()
  expect(s.bytesCurrent).toBeLessThanOrEqual(s.bytesMax)
  await daemon.close()
}

describe('fuzzing', () => {
  it(`the native protocol: a coded error or a close for every hostile input, and the daemon keeps serving (${SECONDS} s)`, () => fuzzDaemon('native'), 60_000)
  it(`the RESP listener: well-formed RESP or a protocol error and a close, and the daemon keeps serving (${SECONDS} s)`, () => fuzzDaemon('resp'), 60_000)
})
