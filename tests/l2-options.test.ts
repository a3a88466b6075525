// The L2 tier's options and start-up rules, without Redis: --l2 needs --bridge, a value limit
// Redis cannot hold is refused, and credentials never reach a log line.
import { describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { serve } from '../ts/index'
import { resolveOptions, L2_MAX_VALUE_BYTES } from '../ts/server/options'
import { decodeEntry, encodeEntry, generationKey } from '../ts/l2/layout'
import { Breaker } from '../ts/l2/breaker'
import { OutageList } from '../ts/l2/outage'
import { freePort } from './engines'
import { ROOT, runNode, tempSocketPath } from './helpers'

describe('L2 options', () => {
  it('resolve to their defaults, the prefix naming the bridge', () => {
    const r = resolveOptions({ socket: '/x.sock', bridge: 'redis://h:1', bridgeName: 'shop', l2: 'redis://h:2' }, {})
    expect(r.l2).toEqual({ url: 'redis://h:2', prefix: 'lc:shop:', timeoutMs: 50, maxTtlMs: 86_400_000, breakerMs: 5000, write: 'through' })
    expect(resolveOptions({ socket: '/x.sock' }, {}).l2).toBeUndefined()
  })

  it('--l2 without --bridge is a usage error that says why', async () => {
    expect(() => resolveOptions({ socket: '/x.sock', l2: 'redis://h:2' }, {})).toThrow(/--l2 needs --bridge: without the bridge, other hosts would keep serving/)
    expect(() => resolveOptions({ socket: '/x.sock', l2TimeoutMs: 5 }, {})).toThrow(/l2TimeoutMs needs a second tier/)
    const r = await runNode([join(ROOT, 'dist/cjs/cli.js'), 'serve', '--socket', tempSocketPath(), '--l2', 'redis://127.0.0.1:1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--l2 needs --bridge/)
  })

  it('a --max-value-bytes Redis cannot hold is refused with --l2, not without', () => {
    const base = { socket: '/x.sock', bridge: 'redis://h:1', l2: 'redis://h:2' }
    expect(() => resolveOptions({ ...base, maxValueBytes: '600mb' }, {})).toThrow(/Redis takes strings up to 512 MiB/)
    expect(resolveOptions({ ...base, maxValueBytes: L2_MAX_VALUE_BYTES }, {}).maxValueBytes).toBe(L2_MAX_VALUE_BYTES)
    expect(resolveOptions({ socket: '/x.sock', maxValueBytes: '600mb' }, {}).maxValueBytes).toBe(600 * 1024 * 1024)
    expect(() => resolveOptions({ ...base, l2Write: 'later' as never }, {})).toThrow(/l2Write/)
  })

  it('an L2 that does not answer does not stop the start, and its password is shown as ***', async () => {
    const lines: string[] = []
    const logDestination = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) })
    // The bridge needs an engine; a missing one fails the start after L2 was tried.
    const port = await freePort()
    await serve({ socket: tempSocketPath(), logDestination, bridge: `redis://127.0.0.1:${port}`, hostId: 'h', l2: `redis://u:hunter2@127.0.0.1:${port}` }).catch(() => {})
    expect(lines.join('')).toMatch(/L2 did not answer at start/)
    expect(lines.join('')).not.toContain('hunter2')
  })
})

describe('L2 pieces', () => {
  it('an entry keeps its bytes, version and expiry; foreign bytes are not an entry', () => {
    const bytes = Buffer.from([0, 0x7c, 0xff, 1])
    expect(decodeEntry(encodeEntry(bytes, 7, 123))).toEqual({ value: bytes, version: 7, expiresAt: 123 })
    expect(decodeEntry(encodeEntry(Buffer.alloc(0), undefined, undefined))).toEqual({ value: Buffer.alloc(0), version: undefined, expiresAt: undefined })
    expect(decodeEntry(Buffer.from('plain value'))).toBeUndefined()
  })

  it('a prefix bumps the narrowest generation holding every key it matches', () => {
    expect(generationKey('p:', { scope: 'prefix', prefix: 'shop:item:12' })).toBe('p:gen:t:shop:item')
    expect(generationKey('p:', { scope: 'prefix', prefix: 'shop:item:' })).toBe('p:gen:t:shop:item')
    expect(generationKey('p:', { scope: 'prefix', prefix: 'shop:it' })).toBe('p:gen:s:shop')
    expect(generationKey('p:', { scope: 'prefix', prefix: 'sh' })).toBe('p:gen')
    expect(generationKey('p:', { scope: 'table', svc: 'a', table: 'b' })).toBe('p:gen:t:a:b')
    expect(generationKey('p:', 'clear')).toBe('p:gen')
  })

  it('the breaker opens after 5 failures in a row, for its period, and a failed retry reopens it', () => {
    let now = 0
    const breaker = new Breaker(1000, () => now)
    for (let i = 0; i < 4; i++) expect(breaker.failure()).toBe(false)
    breaker.success()
    for (let i = 0; i < 4; i++) breaker.failure()
    expect(breaker.failure()).toBe(true)
    expect(breaker.open).toBe(true)
    now = 1000
    expect(breaker.allows).toBe(true)
    expect(breaker.failure()).toBe(true) // the half-open try failed
    now = 2000
    breaker.success()
    expect(breaker.failure()).toBe(false)
  })

  it('the outage list is bounded: past it, one clear bump replaces the keys', () => {
    const list = new OutageList(2)
    list.key('a:b:1')
    list.key('a:b:2')
    expect(list.overflowed).toBe(false)
    list.key('a:b:3')
    expect(list.take()).toEqual({ keys: [], generations: [], overflowed: true })
    expect(list.empty).toBe(true)
  })
})
