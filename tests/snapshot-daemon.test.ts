// Warm restart of the daemon (serve --snapshot): what a restart brings back, when it saves,
// the Snapshot request at every door, and files that must never stop a start.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { LocalCachedClient } from '../ts/client/client'
import { eventually, key, RawConnection, ROOT, runNode, startDaemon, tempSocketPath, type TestDaemon } from './helpers'
import type { ServeOptions } from '../ts/server/options'

const CLI = join(ROOT, 'dist/cjs/cli.js')
const dirs: string[] = []
const daemons: TestDaemon[] = []

function snapshotPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lc-snap-'))
  dirs.push(dir)
  return join(dir, 'cache.snap')
}

async function daemonWith(options: ServeOptions, lines?: string[]): Promise<TestDaemon> {
  const d = await startDaemon(lines ? { logLevel: 'info', logDestination: { write: (l: string) => void lines.push(l) } as never, ...options } : options)
  daemons.push(d)
  return d
}

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.close().catch(() => {})
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('warm restart: what comes back', () => {
  it('a daemon closed and started again serves its entries with their remaining TTLs, versions and dependencies', async () => {
    const snapshot = snapshotPath()
    const a = await daemonWith({ snapshot })
    await a.client.put(key(1), 'one', { version: 7, ttlMs: 60_000 })
    await a.client.put(key(2), 'two')
    await a.client.put(key(3), 'derived', { dependsOn: [key(2)] })
    await a.close()
    expect(statSync(snapshot).mode & 0o777).toBe(0o600)

    const b = await daemonWith({ snapshot })
    const meta = await b.client.getWithMeta(key(1))
    expect(meta?.value?.toString()).toBe('one')
    expect(meta?.version).toBe(7)
    expect(meta?.ttlMs).toBeGreaterThan(50_000)
    expect(meta?.ttlMs).toBeLessThanOrEqual(60_000)
    expect((await b.client.get(key(2)))?.toString()).toBe('two')
    // The dependency edge came back: invalidating key 2 removes key 3.
    await b.client.invalidate(key(2))
    expect(await b.client.get(key(3))).toBeNull()
  })

  it('kill -TERM of the CLI daemon saves; the next start loads before it listens', async () => {
    const snapshot = snapshotPath()
    const socket = tempSocketPath()
    const start = async () => {
      const child = spawn(process.execPath, [CLI, 'serve', '--socket', socket, '--snapshot', snapshot, '--log-format', 'json'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      await eventually(() => stderr.includes('localcached listening'), 15_000)
      return { child, stderr: () => stderr }
    }
    const first = await start()
    const c1 = await LocalCachedClient.connect(socket)
    await c1.put(key('ttl'), 'v', { ttlMs: 120_000, version: 3 })
    for (let i = 0; i < 500; i++) await c1.put(key(i), `v${i}`)
    await c1.close()
    first.child.kill('SIGTERM')
    expect(await new Promise((r) => first.child.once('exit', r))).toBe(0)
    expect(first.stderr()).toContain('snapshot saved')

    const second = await start()
    try {
      // Loaded before the listening line: the first request already finds everything.
      expect(second.stderr().indexOf('snapshot loaded')).toBeLessThan(second.stderr().indexOf('localcached listening'))
      const c2 = await LocalCachedClient.connect(socket)
      const meta = await c2.getWithMeta(key('ttl'))
      expect(meta?.version).toBe(3)
      expect(meta?.ttlMs).toBeGreaterThan(100_000)
      expect((await c2.stats()).itemsCurrent).toBe(501)
      await c2.close()
    } finally {
      second.child.kill('SIGTERM')
      await new Promise((r) => second.child.once('exit', r))
    }
  })

  it('after a crash (the file is an interval or requested save) the snapshot is dropped, unless --snapshot-after-crash load', async () => {
    const snapshot = snapshotPath()
    const socket = tempSocketPath()
    const start = async (extra: string[] = []) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--socket', socket, '--snapshot', snapshot, '--log-format', 'json', ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      await eventually(() => stderr.includes('localcached listening'), 15_000)
      return { child, stderr: () => stderr, client: await LocalCachedClient.connect(socket) }
    }
    const crash = async (d: Awaited<ReturnType<typeof start>>) => {
      await d.client.close()
      d.child.kill('SIGKILL')
      await new Promise((r) => d.child.once('exit', r))
    }
    let d = await start()
    await d.client.put(key(1), 'saved')
    expect(await d.client.snapshot()).toBe(1)
    await d.client.del(key(1)) // acknowledged after the save: a crash must not bring it back
    await crash(d)
    d = await start()
    expect(await d.client.get(key(1))).toBeNull()
    expect(d.stderr()).toContain('dropping the loaded snapshot: the previous process did not write it at its shutdown')
    // Opting in keeps a crash's file.
    await d.client.put(key(2), 'saved')
    expect(await d.client.snapshot()).toBe(1)
    await crash(d)
    d = await start(['--snapshot-after-crash', 'load'])
    expect((await d.client.get(key(2)))?.toString()).toBe('saved')
    // A loaded file is consumed: a crash now, before any save, leaves nothing to load.
    expect(existsSync(snapshot)).toBe(false)
    await crash(d)
    d = await start(['--snapshot-after-crash', 'load'])
    expect(await d.client.get(key(2))).toBeNull()
    expect(d.stderr()).toContain('no snapshot to load')
    await d.client.close()
    d.child.kill('SIGTERM')
    await new Promise((r) => d.child.once('exit', r))
  })

  it('a smaller --max-bytes keeps the entries read before the save, then the newest', async () => {
    const snapshot = snapshotPath()
    const a = await daemonWith({ snapshot, shards: 1, maxBytes: '4mb' })
    const value = 'x'.repeat(1000)
    for (let i = 0; i < 2000; i++) await a.client.put(key(i), value)
    // The 100 oldest are read: SIEVE's visited bits are not saved, but the save writes the
    // visited entries first, so a smaller budget keeps them ahead of the newest unread ones.
    for (let i = 0; i < 100; i++) await a.client.get(key(i))
    await a.close()
    const b = await daemonWith({ snapshot, shards: 1, maxBytes: '512kb' })
    const s = await b.client.stats()
    expect(s.bytesCurrent).toBeLessThanOrEqual(512 * 1024)
    expect(s.itemsCurrent).toBeGreaterThan(200)
    expect(await b.client.exists(Array.from({ length: 100 }, (_, i) => key(i)))).toBe(100)
    expect(await b.client.exists(Array.from({ length: 100 }, (_, i) => key(1900 + i)))).toBe(100)
    expect(await b.client.exists(Array.from({ length: 1400 }, (_, i) => key(100 + i)))).toBe(0)
  })
})

describe('warm restart: when it saves', () => {
  it('Snapshot answers with the entries written once the file is in place; replies stay in order on the connection', async () => {
    const snapshot = snapshotPath()
    const d = await daemonWith({ snapshot })
    for (let i = 0; i < 100; i++) await d.client.put(key(i), 'v')
    const raw = new RawConnection(d.socket)
    try {
      await raw.hello()
      raw.send({ type: 'Snapshot' })
      raw.send({ type: 'Get', key: key(1) })
      raw.send({ type: 'Snapshot' })
      expect(await raw.nextMessage()).toEqual({ type: 'Integer', value: 100 })
      expect(existsSync(snapshot)).toBe(true)
      expect(await raw.nextMessage()).toMatchObject({ type: 'Value' })
      expect(await raw.nextMessage()).toEqual({ type: 'Integer', value: 100 })
    } finally {
      raw.destroy()
    }
  })

  it('requests during a save wait for it, and are answered by a save that started after them', async () => {
    const snapshot = snapshotPath()
    const d = await daemonWith({ snapshot })
    for (let i = 0; i < 50; i++) await d.client.put(key(i), 'v')
    const other = await LocalCachedClient.connect(d.socket)
    try {
      const first = d.client.snapshot()
      await other.put(key('late'), 'v')
      const second = other.snapshot()
      expect(await first).toBeGreaterThanOrEqual(50)
      expect(await second).toBe(51)
      expect(d.server.options.snapshot?.path).toBe(snapshot)
    } finally {
      await other.close()
    }
  })

  it('saves every --snapshot-interval-ms; LASTSAVE, INFO persistence and /metrics say when', async () => {
    const snapshot = snapshotPath()
    const respSocket = tempSocketPath()
    const d = await daemonWith({ snapshot, snapshotIntervalMs: 100, respSocket, metricsPort: 0 })
    await d.client.put(key(1), 'v')
    await eventually(() => existsSync(snapshot), 5000)
    const redis = new Redis({ path: respSocket, lazyConnect: true, maxRetriesPerRequest: 0 })
    await redis.connect()
    try {
      await eventually(async () => (await redis.lastsave()) > 0)
      expect(Math.abs((await redis.lastsave()) - Date.now() / 1000)).toBeLessThan(10)
      const info = String(await redis.info('persistence'))
      expect(info).toContain('rdb_last_bgsave_status:ok\r\n')
      expect(info).toMatch(/rdb_saves:[1-9]/)
      expect(await redis.bgsave()).toBe('Background saving started')
      const text = await (await fetch(`http://127.0.0.1:${d.server.metricsPort}/metrics`)).text()
      expect(Number(/^localcached_snapshot_last_save_timestamp_seconds (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(Date.now() / 1000 - 10)
      expect(text).toMatch(/^localcached_snapshot_saves_total\{result="ok"\} [1-9]/m)
    } finally {
      redis.disconnect()
    }
  })

  it('without --snapshot: Snapshot and BGSAVE are refused with BadRequest; the interval flags are usage errors', async () => {
    const respSocket = tempSocketPath()
    const d = await daemonWith({ respSocket })
    await expect(d.client.snapshot()).rejects.toMatchObject({ code: 'BadRequest' })
    const redis = new Redis({ path: respSocket, lazyConnect: true, maxRetriesPerRequest: 0 })
    await redis.connect()
    try {
      await expect(redis.bgsave()).rejects.toThrow(/no snapshot file/)
      expect(await redis.lastsave()).toBe(0)
    } finally {
      redis.disconnect()
    }
    const r = await runNode([CLI, 'serve', '--socket', tempSocketPath(), '--snapshot-interval-ms', '1000'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('snapshotIntervalMs needs a snapshot file (--snapshot <file>)')
    const cli = await runNode([CLI, 'snapshot', '--socket', d.socket])
    expect(cli.code).toBe(1)
    expect(cli.stderr).toContain('this daemon has no snapshot file: start it with --snapshot <file>')
  })

  it('the CLI snapshot command prints the entries written', async () => {
    const snapshot = snapshotPath()
    const d = await daemonWith({ snapshot })
    for (let i = 0; i < 3; i++) await d.client.put(key(i), 'v')
    const r = await runNode([CLI, 'snapshot', '--socket', d.socket])
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('3\n')
  })

  it('a failed save answers SnapshotIo, is logged at error and counted; the daemon serves on', async () => {
    const snapshot = snapshotPath()
    const lines: string[] = []
    const d = await daemonWith({ snapshot, metricsPort: 0 }, lines)
    await d.client.put(key(1), 'v')
    expect(await d.client.snapshot()).toBe(1)
    // The file's directory gone: the save cannot create its temp file beside the target.
    rmSync(join(snapshot, '..'), { recursive: true })
    await d.client.put(key(2), 'v')
    await expect(d.client.snapshot()).rejects.toMatchObject({ code: 'SnapshotIo' })
    expect(lines.some((l) => /"level":50/.test(l) && l.includes('snapshot save failed'))).toBe(true)
    const text = await (await fetch(`http://127.0.0.1:${d.server.metricsPort}/metrics`)).text()
    expect(text).toMatch(/^localcached_snapshot_saves_total\{result="error"\} 1$/m)
    expect(await d.client.exists([key(1), key(2)])).toBe(2)
  })
})

describe('warm restart: files that must not stop a start', () => {
  const cases: Array<[string, (file: string) => void, string]> = [
    ['garbage', (f) => writeFileSync(f, 'not a snapshot at all'), 'SnapshotCorrupt'],
    ['truncated', (f) => writeFileSync(f, readFileSync(f).subarray(0, Math.floor(readFileSync(f).length / 2))), 'SnapshotCorrupt'],
    ['a flipped bit', (f) => {
      const b = readFileSync(f)
      b[b.length - 40] ^= 0x10
      writeFileSync(f, b)
    }, 'SnapshotCorrupt'],
    ['empty', (f) => writeFileSync(f, ''), 'SnapshotCorrupt'],
  ]
  for (const [what, spoil, code] of cases) {
    it(`${what}: logged at warn with ${code}, moved aside, the daemon starts empty and ready`, async () => {
      const snapshot = snapshotPath()
      const a = await daemonWith({ snapshot })
      for (let i = 0; i < 20; i++) await a.client.put(key(i), 'v'.repeat(100))
      await a.close()
      spoil(snapshot)
      const lines: string[] = []
      const b = await daemonWith({ snapshot, metricsPort: 0 }, lines)
      expect((await b.client.stats()).itemsCurrent).toBe(0)
      expect((await fetch(`http://127.0.0.1:${b.server.metricsPort}/readyz`)).status).toBe(200)
      const warn = lines.map((l) => JSON.parse(l)).find((l) => l.msg?.includes('snapshot refused'))
      expect(warn).toMatchObject({ level: 40, code })
      expect(existsSync(snapshot)).toBe(false)
      expect(readdirSync(join(snapshot, '..')).some((n) => n.startsWith('cache.snap.corrupt-'))).toBe(true)
      // It serves, and its own next save is a good file again.
      await b.client.put(key(1), 'v')
      expect(await b.client.snapshot()).toBe(1)
    })
  }

  it('--snapshot-max-age-ms refuses an older file (moved aside, SnapshotTooOld)', async () => {
    const snapshot = snapshotPath()
    const a = await daemonWith({ snapshot })
    await a.client.put(key(1), 'v')
    await a.close()
    await new Promise((r) => setTimeout(r, 300))
    const lines: string[] = []
    const b = await daemonWith({ snapshot, snapshotMaxAgeMs: 100 }, lines)
    expect(await b.client.get(key(1))).toBeNull()
    expect(lines.some((l) => l.includes('SnapshotTooOld'))).toBe(true)
    expect(existsSync(snapshot)).toBe(false)
  })

  it('a missing file starts empty, and says so at info', async () => {
    const snapshot = snapshotPath()
    const lines: string[] = []
    const d = await daemonWith({ snapshot }, lines)
    expect((await d.client.stats()).itemsCurrent).toBe(0)
    expect(lines.some((l) => l.includes('no snapshot to load'))).toBe(true)
  })
})
