// The bridge's options and start-up failures, without an engine: usage errors, an engine that
// is not there, and credentials that never reach an error or a log line.
import { describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { serve } from '../ts/index'
import { resolveOptions } from '../ts/server/options'
import { redactBridgeUrl } from '../ts/bridge/transport'
import { redisOptionsFromUrl } from '../ts/bridge/redis-transport'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './engines'
import { eventually, requireTool, tempSocketPath } from './helpers'

describe('bridge options', () => {
  it('resolve to their defaults, with the host name as host id', () => {
    const r = resolveOptions({ socket: '/x.sock', bridge: 'redis://127.0.0.1:1' }, {})
    expect(r.bridge).toMatchObject({ url: 'redis://127.0.0.1:1', name: 'localcached', retention: 1_000_000, outbox: 100_000, heartbeatMs: 1000, originTimeoutMs: 30_000, offline: 'flush-on-reconnect', maxStalenessMs: 5000 })
    expect(r.bridge!.hostId).toBe(require('node:os').hostname())
    expect(resolveOptions({ socket: '/x.sock' }, {}).bridge).toBeUndefined()
  })

  it('bridge options without a bridge, a bad name or policy, and an unknown scheme are BadArgument', async () => {
    expect(() => resolveOptions({ socket: '/x.sock', hostId: 'a' }, {})).toThrow(/hostId needs a bridge/)
    expect(() => resolveOptions({ socket: '/x.sock', bridge: 'redis://h', bridgeName: 'a.b' }, {})).toThrow(/bridgeName/)
    expect(() => resolveOptions({ socket: '/x.sock', bridge: 'redis://h', bridgeOffline: 'never' as never }, {})).toThrow(/bridgeOffline/)
    await expect(serve({ socket: tempSocketPath(), logLevel: 'silent', bridge: 'kafka://u:pw@h:1' })).rejects.toMatchObject({ code: 'BadArgument', message: expect.not.stringContaining('pw') })
  })

  it('an engine that is not there: BridgeUnavailable, with the password shown as ***, in the error and the log', async () => {
    const lines: string[] = []
    const logDestination = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) })
    const port = await freePort()
    for (const url of [`redis://user:hunter2@127.0.0.1:${port}`, `nats://user:hunter2@127.0.0.1:${port}`]) {
      const err = await serve({ socket: tempSocketPath(), logDestination, bridge: url, hostId: 'h' }).then(
        () => undefined,
        (e) => e,
      )
      expect(err, url).toMatchObject({ code: 'BridgeUnavailable' })
      expect(err.message).toContain('user:***@')
      expect(err.message).not.toContain('hunter2')
    }
    expect(lines.join('')).not.toContain('hunter2')
  }, 30_000)

  it('redis+unix:// takes a path, credentials and a db', () => {
    expect(redisOptionsFromUrl('redis+unix:///run/redis.sock')).toEqual({ target: { path: '/run/redis.sock' }, options: {} })
    expect(redisOptionsFromUrl('redis+unix://app:s3cret@/run/redis.sock?db=2')).toEqual({ target: { path: '/run/redis.sock' }, options: { username: 'app', password: 's3cret', db: 2 } })
    expect(() => redisOptionsFromUrl('redis+unix://app:s3cret@relative.sock')).toThrow(/absolute socket path/)
    expect(redactBridgeUrl('redis+unix://app:s3cret@/run/redis.sock')).toBe('redis+unix://app:***@/run/redis.sock')
  })

  it('every server of a NATS list is redacted', () => {
    expect(redactBridgeUrl('nats://a:pw1@h1:4222,nats://b:pw2@h2:4222')).toBe('nats://a:***@h1:4222,nats://b:***@h2:4222')
  })
})

const redisServer = requireTool('redis-server')
describe.skipIf(redisServer.skip)(redisServer.title('redis+unix:// bridges through a Unix socket'), () => {
  it('connects, publishes and reads its own heartbeats', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-redis-unix-'))
    const path = join(dir, 'redis.sock')
    const redis = spawn(redisServer.command, ['--port', '0', '--unixsocket', path, '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
    try {
      await eventually(() => existsSync(path), 10_000)
      const server = await serve({ socket: tempSocketPath(), logLevel: 'silent', bridge: `redis+unix://${path}`, hostId: 'u', bridgeHeartbeatMs: 50 })
      try {
        await eventually(() => {
          const s = (server.bridge!.stats())
          return s.bridgePublished > 2 && s.bridgeConnected === 1
        }, 10_000)
        expect(server.bridge!.engine).toBe('redis')
      } finally {
        await server.close()
      }
    } finally {
      redis.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
