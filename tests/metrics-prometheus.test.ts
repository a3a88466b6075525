// The metrics port against the real tools: Debian's prometheus scrapes a daemon and answers
// PromQL about what this test did, and promtool's linter accepts the exposition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually, key, requireTool, startDaemon, type TestDaemon } from './helpers'

const prometheus = requireTool('prometheus')
const promtool = requireTool('promtool')

/** A port free right now: bound to 0, read, released. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function metricsText(daemon: TestDaemon): Promise<string> {
  return (await fetch(`http://127.0.0.1:${daemon.server.metricsPort}/metrics`)).text()
}

describe.skipIf(promtool.skip)(promtool.title('promtool check metrics'), () => {
  it('accepts the whole exposition, default process and Node metrics included', async () => {
    const daemon = await startDaemon({ metricsPort: 0, respPort: 0, svcCaps: { capped: '1mb' } })
    try {
      await daemon.client.put(key(1), Buffer.from('v'))
      await daemon.client.get(key(1))
      await daemon.client.get('bad').catch(() => {})
      const text = await metricsText(daemon)
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(promtool.command, ['check', 'metrics'])
        let out = ''
        child.stdout.on('data', (d) => (out += d))
        child.stderr.on('data', (d) => (out += d))
        child.on('exit', (code) => resolve({ code, out }))
        child.stdin.end(text)
      })
      expect(result.out).toBe('')
      expect(result.code).toBe(0)
    } finally {
      await daemon.close()
    }
  })
})

describe.skipIf(prometheus.skip)(prometheus.title('a real Prometheus scrape'), () => {
  let daemon: TestDaemon
  let server: ChildProcess
  let dir: string
  let webPort: number
  let log = ''

  beforeAll(async () => {
    daemon = await startDaemon({ metricsPort: 0 })
    dir = mkdtempSync(join(tmpdir(), 'lc-prom-'))
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: localcached',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${daemon.server.metricsPort}']`,
        '',
      ].join('\n'),
    )
    webPort = await freePort()
    server = spawn(prometheus.command, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
    server.stdout!.on('data', (d) => (log += d))
    server.stderr!.on('data', (d) => (log += d))
  }, 30_000)

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await new Promise((resolve) => server.once('exit', resolve))
    }
    await daemon?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** The value of an instant PromQL query's single result, or undefined while it has none. */
  async function query(promql: string): Promise<number | undefined> {
    const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined)
    if (!res?.ok) return undefined
    const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } }
    return body.data.result.length === 1 ? Number(body.data.result[0].value[1]) : undefined
  }

  it('sees the target up and the hits this test caused', async () => {
    const hits = 7
    await daemon.client.put(key('p'), Buffer.from('v'))
    for (let i = 0; i < hits; i++) await daemon.client.get(key('p'))
    await daemon.client.get(key('absent'))
    try {
      await eventually(async () => (await query('up{job="localcached"}')) === 1, 30_000, 250)
      await eventually(async () => (await query('localcached_keyspace_hits_total{job="localcached"}')) === hits, 15_000, 250)
    } catch (err) {
      throw new Error(`${(err as Error).message}; prometheus said:\n${log}`)
    }
    expect(await query('localcached_keyspace_misses_total{job="localcached"}')).toBe(1)
    expect(await query('sum(localcached_commands_total{job="localcached",command="get",protocol="native",status="ok"})')).toBe(hits + 1)
    expect(await query('localcached_current_items{job="localcached"}')).toBe(1)
  }, 60_000)
})
