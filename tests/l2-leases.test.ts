// Fleet-wide single flight against real redis-servers: getOrLoad's load lease in L2, taken by
// one process of twelve on three hosts; a hung or killed holder taken over; a late fill after a
// write (or a scope) that is a no-op everywhere; and leases back on the host when L2 is away.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { eventually, requireTool, ROOT } from './helpers'
import type { Engine } from './engines'
import { appliedAtLeast, type Host } from './bridge-hosts'
import { startL2Fleet, type L2Fleet, type L2Link } from './l2-hosts'

const tool = requireTool('redis-server')
const CHILD = join(ROOT, 'tests', 'fixtures', 'l2-load-child.cjs')

interface Child {
  proc: ChildProcess
  lines: string[]
  ready: Promise<void>
  result: Promise<{ value?: string; error?: string }>
}

function startChild(socket: string, key: string, redisPort: number, counter: string, loadMs: number, lockTimeoutMs: number): Child {
  const proc = spawn(process.execPath, [CHILD, socket, key, String(redisPort), counter, String(loadMs), String(lockTimeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines: string[] = []
  let buffered = ''
  const waiters: Array<() => void> = []
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    let at: number
    while ((at = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, at))
      buffered = buffered.slice(at + 1)
      for (const w of waiters.splice(0)) w()
    }
  })
  const seen = (test: (l: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = lines.find(test)
        if (line !== undefined) return resolve(line)
        if (proc.exitCode !== null) return reject(new Error(`child exited ${proc.exitCode}: ${lines.join(' | ')}`))
        waiters.push(check)
      }
      proc.on('exit', () => check())
      check()
    })
  return {
    proc,
    lines,
    ready: seen((l) => l === 'ready').then(() => undefined),
    result: seen((l) => l.startsWith('{')).then((l) => JSON.parse(l)),
  }
}

describe.skipIf(tool.skip)(tool.title('L2 fleet-wide single flight'), () => {
  let fleet: L2Fleet
  let l2: Engine
  let redis: Redis
  let links: L2Link[]
  let hosts: Host[]
  const children: ChildProcess[] = []

  beforeAll(async () => {
    fleet = await startL2Fleet([{}, {}, {}])
    ;({ l2, redis, links, hosts } = fleet)
  }, 30_000)

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await fleet?.close()
  })

  const spawnAll = async (key: string, counter: string, perHost: number, loadMs: number, lockTimeoutMs: number) => {
    const started = hosts.flatMap((h) => Array.from({ length: perHost }, () => startChild(h.socket, key, l2.port, counter, loadMs, lockTimeoutMs)))
    for (const c of started) children.push(c.proc)
    await Promise.all(started.map((c) => c.ready))
    return started
  }

  it('3 hosts × 4 processes miss one key at once: the loader runs once, and all twelve get its value', async () => {
    const key = 'fleet:item:1'
    const counter = 'test:loads:1'
    const before = await Promise.all(hosts.map((h) => h.stats()))
    const started = await spawnAll(key, counter, 4, 300, 5000)
    for (const c of started) c.proc.stdin!.write('go\n')
    const results = await Promise.all(started.map((c) => c.result))
    expect(Number(await redis.get(counter))).toBe(1)
    const values = new Set(results.map((r) => r.value ?? `error ${r.error}`))
    expect(values.size).toBe(1)
    expect([...values][0]).toMatch(/^loaded by \d+ \(call 1\)$/)
    const after = await Promise.all(hosts.map((h) => h.stats()))
    const sum = (f: 'l2LeasesGranted' | 'l2LeasesRefused') => after.reduce((n, s, i) => n + (s[f] ?? 0) - (before[i][f] ?? 0), 0)
    // One load; a waiter may also be granted the lease just after the fill ended it, then find the value and give it back.
    expect(sum('l2LeasesGranted')).toBeGreaterThanOrEqual(1)
    expect(sum('l2LeasesRefused')).toBeGreaterThanOrEqual(11)
    // Every host serves it now (filled from L2 on a miss).
    for (const h of hosts) expect((await h.client.get(key))?.toString()).toBe([...values][0])
  }, 30_000)

  it('a hung holder: another host takes over once its lease runs out, and the holder\'s host counts it expired', async () => {
    const key = 'fleet:item:2'
    const counter = 'test:loads:2'
    const holder = startChild(hosts[0].socket, key, l2.port, counter, 60_000, 800)
    children.push(holder.proc)
    await holder.ready
    holder.proc.stdin!.write('go\n')
    await eventually(() => holder.lines.includes('loading'))
    holder.proc.kill('SIGSTOP')
    const t0 = Date.now()
    const value = await hosts[1].client.getOrLoad(key, async () => {
      await redis.incr(counter)
      return 'taken over'
    }, { ttlMs: 60_000, lockTimeoutMs: 3000 })
    expect(value.toString()).toBe('taken over')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300)
    expect(Number(await redis.get(counter))).toBe(2)
    expect((await hosts[0].stats()).l2LeasesExpired).toBeGreaterThanOrEqual(1)
    holder.proc.kill('SIGKILL')
    // The stored value is the one taken over, everywhere.
    await eventually(async () => (await hosts[0].client.get(key))?.toString() === 'taken over')
  }, 30_000)

  it('a killed holder: its disconnect ends the lease at once (compare-and-delete), well before its TTL', async () => {
    const key = 'fleet:item:3'
    const counter = 'test:loads:3'
    const holder = startChild(hosts[2].socket, key, l2.port, counter, 60_000, 20_000)
    children.push(holder.proc)
    await holder.ready
    holder.proc.stdin!.write('go\n')
    await eventually(() => holder.lines.includes('loading'))
    const t0 = Date.now()
    const loading = hosts[0].client.getOrLoad(key, async () => 'after the kill', { ttlMs: 60_000, lockTimeoutMs: 20_000 })
    await new Promise((r) => setTimeout(r, 100))
    holder.proc.kill('SIGKILL')
    expect((await loading).toString()).toBe('after the kill')
    expect(Date.now() - t0).toBeLessThan(5000)
  }, 30_000)

  it('a write during the load makes the late fill a no-op on every host and in L2', async () => {
    const [a, b, c] = hosts
    const key = 'fleet:item:4'
    let finish!: (v: string) => void
    const loading = a.client.getOrLoad(key, () => new Promise<string>((r) => (finish = r)), { ttlMs: 60_000, lockTimeoutMs: 5000 })
    await eventually(() => finish !== undefined)
    const applied = (await a.stats()).bridgeApplied ?? 0
    await b.client.put(key, 'fresh')
    await appliedAtLeast(a, applied + 1)
    finish('old')
    expect((await loading).toString()).toBe('old') // the caller gets what it loaded
    for (const h of [a, b, c]) expect((await h.client.get(key))?.toString()).toBe('fresh')
  })

  it('a scope invalidated during the load: the fill is refused (its lease was orphaned by the bump)', async () => {
    const [a, b] = hosts
    const key = 'fleet:scoped:1'
    let finish!: (v: string) => void
    const loading = a.client.getOrLoad(key, () => new Promise<string>((r) => (finish = r)), { ttlMs: 60_000, lockTimeoutMs: 5000 })
    await eventually(() => finish !== undefined)
    const applied = (await a.stats()).bridgeApplied ?? 0
    await b.client.invalidateTable('fleet', 'scoped')
    await appliedAtLeast(a, applied + 1)
    finish('old')
    await loading
    expect(await a.client.get(key)).toBeNull()
    expect(await b.client.get(key)).toBeNull()
  })

  it('with L2 cut, leases fall back to the host (counted) and getOrLoad still loads once per host', async () => {
    const a = hosts[0]
    const fallbacks = (await a.stats()).l2Fallbacks ?? 0
    links[0].cut()
    try {
      let calls = 0
      const load = (client: typeof a.client) => client.getOrLoad('fleet:cut:1', async () => {
        calls++
        await new Promise((r) => setTimeout(r, 100))
        return 'local'
      }, { ttlMs: 60_000 })
      const [x, y] = await Promise.all([load(a.client), load(a.near)])
      expect([x.toString(), y.toString()]).toEqual(['local', 'local'])
      expect(calls).toBe(1)
      expect((await a.stats()).l2Fallbacks).toBeGreaterThan(fallbacks)
    } finally {
      links[0].restore()
    }
  })
})
