import { afterEach, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { LocalCachedClient, LocalCachedError, type CacheEvent } from '../ts/index'
import { ROOT, eventually, startDaemon, tempSocketPath, type TestDaemon } from './helpers'

const CLI = join(ROOT, 'dist/cjs/cli.js')
const children: ChildProcess[] = []
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
  for (const child of children.splice(0)) {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  }
})

async function daemonProcess(socket: string, ...flags: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--socket', socket, '--log-level', 'silent', ...flags], { stdio: 'ignore' })
  children.push(child)
  await eventually(async () => {
    const c = await LocalCachedClient.connect(socket, { reconnect: { enabled: false }, timeoutMs: 500 }).catch(() => null)
    await c?.close()
    return c !== null
  })
  return child
}

async function nextEvent(sub: AsyncIterator<CacheEvent>): Promise<CacheEvent> {
  const r = await sub.next()
  if (r.done) throw new Error('subscription ended')
  return r.value
}

/** A Unix-socket proxy in front of the daemon whose connections the test can cut. */
async function proxy(target: string): Promise<{ path: string; cut: () => void; server: Server }> {
  const path = tempSocketPath()
  const live = new Set<Socket>()
  const server = createServer((down) => {
    const up = connect(target)
    live.add(down)
    live.add(up)
    down.pipe(up)
    up.pipe(down)
    const drop = () => {
      down.destroy()
      up.destroy()
      live.delete(down)
      live.delete(up)
    }
    down.on('error', drop).on('close', drop)
    up.on('error', drop).on('close', drop)
  })
  await new Promise<void>((r) => server.listen(path, r))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  return { path, server, cut: () => live.forEach((s) => s.destroy()) }
}

describe('faults', () => {
  it('after kill -9 the daemon restarts on the same path; clients reconnect and subscriptions reset', async () => {
    const socket = tempSocketPath()
    const first = await daemonProcess(socket)
    const client = await LocalCachedClient.connect(socket, { reconnect: { initialDelayMs: 10, maxDelayMs: 100 } })
    cleanups.push(() => client.close())
    const sub = await client.subscribe()
    await client.put('a:b:c', 'before')
    first.kill('SIGKILL')
    await new Promise((r) => first.on('exit', r))
    expect(existsSync(socket)).toBe(true) // stale: nobody removed it
    // During the outage calls fail fast instead of waiting out their timeout.
    const started = Date.now()
    const err = await client.ping().catch((e) => e)
    expect(err).toBeInstanceOf(LocalCachedError)
    expect(err.code).toBe('ConnectionLost')
    expect(Date.now() - started).toBeLessThan(200)
    expect(await nextEvent(sub)).toEqual({ type: 'reset' })
    await daemonProcess(socket)
    await eventually(() => client.connected)
    expect(await client.get('a:b:c')).toBeNull() // a new, empty daemon
    expect(await nextEvent(sub)).toEqual({ type: 'reset' }) // resubscribed
    await client.invalidate('a:b:after')
    expect(await nextEvent(sub)).toEqual({ type: 'invalidate', key: 'a:b:after' })
    expect(client.reconnects).toBe(1)
  })

  it('a subscription to a hung daemon (SIGSTOP) yields reset after 3 missed heartbeats, and recovers after SIGCONT', async () => {
    const socket = tempSocketPath()
    const child = await daemonProcess(socket, '--heartbeat-ms', '50')
    const client = await LocalCachedClient.connect(socket, { timeoutMs: 300, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } })
    cleanups.push(() => client.close())
    const sub = await client.subscribe()
    await eventually(() => sub.lastHeartbeat !== undefined)
    child.kill('SIGSTOP')
    const stoppedAt = Date.now()
    expect(await nextEvent(sub)).toEqual({ type: 'reset' })
    const detectedIn = Date.now() - stoppedAt
    expect(detectedIn).toBeGreaterThanOrEqual(100)
    expect(detectedIn).toBeLessThan(1000)
    child.kill('SIGCONT')
    expect(await nextEvent(sub)).toEqual({ type: 'reset' })
    await eventually(() => client.connected, 10_000)
    await client.invalidate('a:b:back')
    expect(await nextEvent(sub)).toEqual({ type: 'invalidate', key: 'a:b:back' })
  })

  it('leaks no timers, sockets or listeners across 1000 reconnects', async () => {
    const daemon: TestDaemon = await startDaemon()
    cleanups.push(() => daemon.close())
    const { path, cut } = await proxy(daemon.socket)
    const client = await LocalCachedClient.connect(path, { reconnect: { initialDelayMs: 1, maxDelayMs: 5 } })
    const sub = await client.subscribe()
    const resources = () => {
      const counts: Record<string, number> = {}
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1
      return counts
    }
    await client.ping()
    // Unref'd intervals do not show in getActiveResourcesInfo(): count live ones directly.
    const liveIntervals = new Set<unknown>()
    const realSetInterval = globalThis.setInterval
    const realClearInterval = globalThis.clearInterval
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      const handle = realSetInterval(...args)
      liveIntervals.add(handle)
      return handle
    }) as typeof setInterval
    globalThis.clearInterval = ((handle: NodeJS.Timeout) => {
      liveIntervals.delete(handle)
      realClearInterval(handle)
    }) as typeof clearInterval
    cleanups.push(() => {
      globalThis.setInterval = realSetInterval
      globalThis.clearInterval = realClearInterval
    })
    const before = resources()
    const listenersBefore = process.listenerCount('SIGINT') + process.listenerCount('exit')
    for (let i = 0; i < 1000; i++) {
      cut()
      // Each interruption resets the stream twice: when it is lost and once resubscribed.
      await eventually(() => client.reconnects === i + 1 && sub.resets === 2 * (i + 1), 5000, 1)
    }
    await client.ping()
    await client.invalidate('a:b:still-works')
    // Unread resets in a row collapse into one; nothing else piled up.
    expect(await nextEvent(sub)).toEqual({ type: 'reset' })
    expect(await nextEvent(sub)).toEqual({ type: 'invalidate', key: 'a:b:still-works' })
    // A leak would grow with the 1000 cycles; transient timers of the test runner may come and go.
    const after = resources()
    for (const [type, count] of Object.entries(after)) expect(count, type).toBeLessThanOrEqual((before[type] ?? 0) + 1)
    expect(after.PipeWrap).toBe(before.PipeWrap)
    // One heartbeat watchdog for the live subscription connection, none for the 1000 dead ones.
    expect(liveIntervals.size).toBe(1)
    expect(process.listenerCount('SIGINT') + process.listenerCount('exit')).toBe(listenersBefore)
    sub.close()
    await client.close()
  }, 120_000)
})
