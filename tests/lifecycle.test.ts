import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { runNode } from './helpers'

const fixture = (name: string) => join(__dirname, 'fixtures', name)

describe('store lifetime', () => {
  it('the sweeper never keeps the process alive', async () => {
    const r = await runNode([fixture('exit-with-sweeper.cjs')], { timeoutMs: 10_000 })
    expect(r.stdout).toContain('ready')
    expect(r.signal).toBeNull()
    expect(r.code).toBe(0)
  })

  it('a store garbage-collected without close() frees its memory', async () => {
    const r = await runNode(['--expose-gc', fixture('gc-frees.cjs')], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    const { growthMiB } = JSON.parse(r.stdout)
    // 20 rounds of ~40 MiB each: leaking even a quarter would show as hundreds of MiB.
    expect(growthMiB).toBeLessThan(120)
  })

  it('terminating a worker that holds busy stores is safe', async () => {
    const r = await runNode([fixture('worker-terminate.cjs')], { timeoutMs: 60_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe('still fine')
  })
})
