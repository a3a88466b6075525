import { afterEach, describe, expect, it } from 'vitest'
import { createServer as createTcpServer, connect, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { serve } from '../ts/server/server'
import { LocalCachedClient } from '../ts/client/client'
import { Readiness } from '../ts/server/readiness'
import { startMetricsServer } from '../ts/metrics/http'
import { createDaemonMetrics, MAX_SERVICE_LABELS, OTHER_SERVICE, topServices } from '../ts/metrics/registry'
import { genericMetricName, PREFIX, STATS_METRICS, type NumberField } from '../ts/metrics/stats-metrics'
import { DAEMON_STATS_FIELDS, STATS_FIELDS, type Stats } from '../ts/stats'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { eventually, key, RawConnection, ROOT, runNode, startDaemon, tempSocketPath, type TestDaemon } from './helpers'
import { encodeMessage } from '../ts/protocol/codec'

const silent = { logLevel: 'silent' as const }

async function http(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

/** The value of one sample in the text format: `name{labels} value`, labels written as in the output. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** A RESP command over a raw socket, resolving with the reply's bytes. */
function resp(socket: Socket, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (d) => resolve(d.toString()))
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
  })
}

let daemon: TestDaemon | undefined
afterEach(async () => {
  await daemon?.close()
  daemon = undefined
})

describe('the metrics port', () => {
  it('serves /healthz, /readyz and /metrics on the port it bound; other paths 404, other methods 405', async () => {
    daemon = await startDaemon({ metricsPort: 0 })
    const port = daemon.server.metricsPort!
    expect(port).toBeGreaterThan(0)
    expect(await http(port, '/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}\n' })
    expect(await http(port, '/readyz')).toMatchObject({ status: 200, body: '{"status":"ready"}\n' })
    const metrics = await http(port, '/metrics')
    expect(metrics.status).toBe(200)
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(sample(metrics.body, 'localcached_up')).toBe(1)
    expect(sample(metrics.body, 'localcached_build_info{version="0.1.0"}')).toBe(1)
    expect(metrics.body).toMatch(/^process_cpu_user_seconds_total /m)
    expect(metrics.body).toMatch(/^nodejs_eventloop_lag_seconds /m)
    expect((await http(port, '/nope')).status).toBe(404)
    expect((await http(port, '/metrics', 'POST')).status).toBe(405)
  })

  it('is off unless asked for', async () => {
    daemon = await startDaemon()
    expect(daemon.server.metricsPort).toBeUndefined()
  })

  it('counts each request of a pipelined run of gets and puts as one command, at both doors', async () => {
    daemon = await startDaemon({ metricsPort: 0, respPort: 0 })
    // Native: 40 puts then 40 gets (every tenth key malformed) in one write, so they run together.
    const native = new RawConnection(daemon.socket)
    await native.hello()
    const frames: Buffer[] = []
    for (let i = 0; i < 40; i++) frames.push(encodeMessage({ type: 'Put', key: i % 10 === 9 ? `bad${i}` : key(i), value: Buffer.from('v') }))
    for (let i = 0; i < 40; i++) frames.push(encodeMessage({ type: 'Get', key: i % 10 === 9 ? `bad${i}` : key(i) }))
    native.sendRaw(Buffer.concat(frames))
    await native.message(80)
    native.destroy()
    // RESP: 30 SETs then 30 GETs (every tenth key malformed) in one write.
    const r = connect(daemon.server.respPort!, '127.0.0.1')
    await new Promise((resolve) => r.once('connect', resolve))
    const cmd = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`
    let pipeline = ''
    for (let i = 0; i < 30; i++) pipeline += cmd('SET', i % 10 === 9 ? `bad${i}` : key(i), 'w')
    for (let i = 0; i < 30; i++) pipeline += cmd('GET', i % 10 === 9 ? `bad${i}` : key(i))
    let replies = ''
    r.on('data', (chunk: Buffer) => (replies += chunk.toString('latin1')))
    r.write(pipeline)
    await eventually(() => (replies.match(/\r\n/g) ?? []).length >= 27 + 3 + 27 * 2 + 3)
    r.destroy()

    const text = (await http(daemon.server.metricsPort!, '/metrics')).body
    const c = (command: string, protocol: string, status: string) => sample(text, `localcached_commands_total{command="${command}",protocol="${protocol}",status="${status}"}`)
    expect(c('put', 'native', 'ok')).toBe(36)
    expect(c('put', 'native', 'InvalidKey')).toBe(4)
    expect(c('get', 'native', 'ok')).toBe(36)
    expect(c('get', 'native', 'InvalidKey')).toBe(4)
    expect(c('set', 'resp', 'ok')).toBe(27)
    expect(c('set', 'resp', 'InvalidKey')).toBe(3)
    expect(c('get', 'resp', 'ok')).toBe(27)
    expect(c('get', 'resp', 'InvalidKey')).toBe(3)
  })

  it('counts commands at both doors by operation, protocol and status', async () => {
    daemon = await startDaemon({ metricsPort: 0, respPort: 0, maxValueBytes: 1024 })
    const { client } = daemon
    await client.put(key(1), Buffer.from('a'))
    await client.get(key(1))
    await client.get(key(1))
    await client.get(key(2))
    await expect(client.get('not-a-key')).rejects.toMatchObject({ code: 'InvalidKey' })
    await expect(client.put(key(3), Buffer.alloc(2048))).rejects.toMatchObject({ code: 'ValueTooLarge' })
    await client.mget([key(1), key(2)])
    const r = connect(daemon.server.respPort!, '127.0.0.1')
    await new Promise((resolve) => r.once('connect', resolve))
    expect(await resp(r, 'GET', key(1))).toBe('$1\r\na\r\n')
    expect(await resp(r, 'get', key(1))).toBe('$1\r\na\r\n')
    expect(await resp(r, 'SET', key(4), 'b', 'EX', '10')).toBe('+OK\r\n')
    expect(await resp(r, 'GET', 'bad key')).toMatch(/^-ERR invalid key/)
    expect(await resp(r, 'NOSUCHCOMMAND', 'x')).toMatch(/^-ERR unknown command/)
    expect(await resp(r, 'SET', key(5))).toMatch(/^-ERR wrong number of arguments/)
    // INFO reports the connections of both doors under Redis's names.
    expect(await resp(r, 'INFO', 'stats')).toMatch(/\r\ntotal_connections_received:2\r\nrejected_connections:0\r\ntotal_net_input_bytes:\d+\r\n/)
    r.destroy()

    const text = (await http(daemon.server.metricsPort!, '/metrics')).body
    const c = (command: string, protocol: string, status: string) => sample(text, `localcached_commands_total{command="${command}",protocol="${protocol}",status="${status}"}`)
    expect(c('hello', 'native', 'ok')).toBe(1)
    expect(c('put', 'native', 'ok')).toBe(1)
    expect(c('get', 'native', 'ok')).toBe(3)
    expect(c('get', 'native', 'InvalidKey')).toBe(1)
    expect(c('put', 'native', 'ValueTooLarge')).toBe(1)
    expect(c('mget', 'native', 'ok')).toBe(1)
    expect(c('get', 'resp', 'ok')).toBe(2)
    expect(c('set', 'resp', 'ok')).toBe(1)
    expect(c('get', 'resp', 'InvalidKey')).toBe(1)
    expect(c('(unknown)', 'resp', 'BadRequest')).toBe(1)
    expect(c('set', 'resp', 'BadRequest')).toBe(1)
    expect(c('info', 'resp', 'ok')).toBe(1)
    expect(text).not.toContain('NOSUCHCOMMAND')
    expect(sample(text, 'localcached_item_too_large_total')).toBe(1)
    // The store's own view of the gets: key 1 twice natively, twice over RESP and once in the
    // mget hit; key 2 alone and in the mget missed. Invalid keys never reach the store.
    expect(sample(text, 'localcached_keyspace_hits_total')).toBe(5)
    expect(sample(text, 'localcached_keyspace_misses_total')).toBe(2)
  })

  it('exports every stats number: under a named metric or as localcached_<snake_case>', async () => {
    daemon = await startDaemon({ metricsPort: 0, svcCaps: { capped: '1mb' } })
    await daemon.client.put('svc:t:1', Buffer.from('x'))
    const text = (await http(daemon.server.metricsPort!, '/metrics')).body
    const fields: NumberField[] = [...STATS_FIELDS, ...DAEMON_STATS_FIELDS, 'hitRate']
    expect(Object.keys(STATS_METRICS).sort()).toEqual([...fields].sort())
    for (const field of fields) {
      const how = STATS_METRICS[field]
      const name = how.kind === 'named' ? `${PREFIX}${how.metric}` : genericMetricName(field, how.kind)
      expect(text, field).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'))
    }
    for (const name of ['uptime_seconds', 'current_items', 'current_bytes', 'limit_bytes', 'items_evicted_total', 'expired_keys_total', 'events_published_total', 'subscriber_lagged_total', 'tracking_clients', 'tracking_keys', 'load_leases_current', 'loading']) {
      expect(text, name).toMatch(new RegExp(`^${PREFIX}${name} \\d`, 'm'))
    }
    expect(sample(text, 'localcached_current_items')).toBe(1)
    expect(sample(text, 'localcached_limit_bytes')).toBe(128 * 1024 * 1024)
    expect(sample(text, 'localcached_service_items{service="svc"}')).toBe(1)
    expect(sample(text, 'localcached_service_limit_bytes{service="capped"}')).toBe(1024 * 1024)
    expect(sample(text, 'localcached_load_leases_total{result="granted"}')).toBe(0)
    expect(sample(text, 'localcached_invalidations_total{kind="dependency"}')).toBe(0)
    expect(sample(text, 'localcached_loading')).toBe(0)
    expect(sample(text, 'localcached_ready')).toBe(1)
    // docs/operations.md names every one of our metrics.
    const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
    for (const [, name] of text.matchAll(/^# TYPE (localcached_\w+) /gm)) expect(doc, name).toContain(`\`${name}\``)
  })

  it('counts connections (current, total, refused) and bytes per door', async () => {
    daemon = await startDaemon({ metricsPort: 0, maxConnections: 1 })
    const port = daemon.server.metricsPort!
    await daemon.client.put(key(1), Buffer.alloc(1000))
    await expect(LocalCachedClient.connect(daemon.socket)).rejects.toMatchObject({ code: 'LimitExceeded' })
    const text = (await http(port, '/metrics')).body
    expect(sample(text, 'localcached_current_connections{protocol="native"}')).toBe(1)
    expect(sample(text, 'localcached_connections_total{protocol="native"}')).toBe(1)
    expect(sample(text, 'localcached_connections_rejected_total{protocol="native"}')).toBe(1)
    expect(sample(text, 'localcached_read_bytes_total{protocol="native"}')).toBeGreaterThan(1000)
    expect(sample(text, 'localcached_written_bytes_total{protocol="native"}')).toBeGreaterThan(0)
    const stats = await daemon.client.stats()
    expect(stats).toMatchObject({ connectionsCurrent: 1, connectionsTotal: 1, connectionsRejected: 1 })
    expect(stats.readBytes).toBeGreaterThan(1000)
  })

  it('keeps at most 100 service labels; the rest are summed under (other), and totals carry none', () => {
    const bySvc: Stats['bySvc'] = {}
    for (let i = 0; i < 150; i++) bySvc[`s${i}`] = { bytes: 1000 + i, items: 1, hits: 2, misses: 3, cap: 0 }
    const top = topServices({ bySvc } as Stats)
    expect(top).toHaveLength(MAX_SERVICE_LABELS + 1)
    expect(top[0][0]).toBe('s149')
    expect(top.at(-1)).toEqual([OTHER_SERVICE, { bytes: 50 * 1000 + (0 + 49) * 25, items: 50, hits: 100, misses: 150, cap: 0 }])
  })

  it('warns when the metrics port is not on loopback, and says so when the port is taken', async () => {
    const lines: string[] = []
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) })
    const open = await serve({ socket: tempSocketPath(), metricsPort: 0, metricsHost: '0.0.0.0', logDestination: sink as never })
    try {
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.level === 40)
      expect(warning.msg).toMatch(/metrics port is not on loopback/)
      expect(lines.join('')).toContain(`"metrics":"http://0.0.0.0:${open.metricsPort}/metrics"`)
    } finally {
      await open.close()
    }
    const taken = createTcpServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      await expect(serve({ socket: tempSocketPath(), metricsPort: port, ...silent })).rejects.toMatchObject({ code: 'CannotListen', message: expect.stringMatching(/cannot listen for metrics on 127\.0\.0\.1:\d+: the port is in use/) })
    } finally {
      taken.close()
    }
  })

  it('serve --metrics-port from the CLI: the start-up line gives the URL; bad values are usage errors', async () => {
    const cli = join(ROOT, 'dist/cjs/cli.js')
    const child = spawn(process.execPath, [cli, 'serve', '--socket', tempSocketPath(), '--metrics-port', '0', '--log-format', 'json'])
    let log = ''
    child.stderr.on('data', (d) => (log += d))
    child.stdout.on('data', (d) => (log += d))
    try {
      await eventually(() => /"metrics":"http:\/\/127\.0\.0\.1:\d+\/metrics"/.test(log), 10_000)
      const port = Number(/"metrics":"http:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1])
      expect(await http(port, '/readyz')).toMatchObject({ status: 200 })
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    const bad = await runNode([cli, 'serve', '--socket', tempSocketPath(), '--metrics-port', '99999'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--metrics-port takes an integer from 0 to 65535')
    await expect(serve({ socket: tempSocketPath(), metricsPort: -1, ...silent })).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(serve({ socket: tempSocketPath(), metricsHost: 42 as never, ...silent })).rejects.toMatchObject({ code: 'BadArgument' })
  })

  it('closes the metrics port on shutdown', async () => {
    const server = await serve({ socket: tempSocketPath(), metricsPort: 0, ...silent })
    const port = server.metricsPort!
    expect((await http(port, '/healthz')).status).toBe(200)
    await server.close()
    await expect(http(port, '/healthz')).rejects.toThrow()
  })
})

describe('/readyz and the readiness gate', () => {
  it('answers 503 with each pending reason while one is held, and 200 once all are released', async () => {
    const { Daemon } = await import('../ts/server/daemon')
    const { resolveOptions } = await import('../ts/server/options')
    const standalone = new Daemon(resolveOptions({ socket: tempSocketPath() }))
    const readiness = standalone.readiness
    expect(readiness).toBeInstanceOf(Readiness)
    const metrics = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics: createDaemonMetrics(standalone, 'test'), readiness, log: { error: () => {} } as never })
    try {
      const releaseSnapshot = readiness.hold('snapshot', 'loading /var/lib/localcached/snapshot')
      const releaseReplay = readiness.hold('replay', 'replaying from the bridge')
      let r = await http(metrics.port, '/readyz')
      expect(r.status).toBe(503)
      expect(r.type).toMatch(/^application\/json/)
      const body = JSON.parse(r.body)
      expect(body.status).toBe('not ready')
      expect(body.pending.map((p: { reason: string }) => p.reason)).toEqual(['snapshot', 'replay'])
      expect(body.pending[0]).toMatchObject({ detail: 'loading /var/lib/localcached/snapshot', sinceUnixMs: expect.any(Number) })
      expect(readiness.loading).toBe(true)
      expect(sample((await http(metrics.port, '/metrics')).body, 'localcached_loading')).toBe(1)
      expect((await http(metrics.port, '/healthz')).status).toBe(200)
      releaseSnapshot()
      releaseSnapshot()
      r = await http(metrics.port, '/readyz')
      expect(JSON.parse(r.body).pending).toEqual([expect.objectContaining({ reason: 'replay' })])
      releaseReplay()
      expect((await http(metrics.port, '/readyz')).status).toBe(200)
      expect(readiness.loading).toBe(false)
    } finally {
      await metrics.close()
      standalone.close()
    }
  })

  it('holds readiness while the daemon shuts down', async () => {
    daemon = await startDaemon({ metricsPort: 0, shutdownTimeoutMs: 2000 })
    const port = daemon.server.metricsPort!
    // A connection that never ends its side keeps the drain going until the timeout.
    const lingering = connect({ path: daemon.socket, allowHalfOpen: true })
    await new Promise((resolve) => lingering.once('connect', resolve))
    lingering.on('error', () => {})
    const closing = daemon.server.close()
    await eventually(async () => (await http(port, '/readyz').catch(() => ({ status: 0 }))).status === 503, 2000)
    lingering.destroy()
    await closing
    await daemon.client.close()
    daemon = undefined
  })
})
