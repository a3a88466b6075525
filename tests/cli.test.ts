import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { serve, type DaemonServer } from '../ts/index'
import { ROOT, eventually, runNode, tempSocketPath } from './helpers'

const CLI = join(ROOT, 'dist/cjs/cli.js')
let server: DaemonServer
let socket: string

beforeAll(async () => {
  socket = tempSocketPath()
  server = await serve({ socket, logLevel: 'silent' })
})
afterAll(() => server.close())

const cli = (...args: string[]) => runNode([CLI, ...args, '--socket', socket])

function cliWithStdin(input: string, ...args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--socket', socket])
    let stdout = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.on('exit', (code) => resolve({ code, stdout }))
    child.stdin.end(input)
  })
}

describe('CLI client commands', () => {
  it('ping prints PONG', async () => {
    const r = await cli('ping')
    expect([r.code, r.stdout]).toEqual([0, 'PONG\n'])
  })

  it('put then get prints the raw bytes; --json wraps them; a miss exits 3', async () => {
    expect((await cli('put', 'cli:t:1', 'hello', '--ttl', '60000')).code).toBe(0)
    const raw = await cli('get', 'cli:t:1')
    expect([raw.code, raw.stdout]).toEqual([0, 'hello'])
    const json = await cli('get', 'cli:t:1', '--json')
    expect(JSON.parse(json.stdout)).toEqual({ key: 'cli:t:1', value: 'hello' })
    const miss = await cli('get', 'cli:t:404')
    expect([miss.code, miss.stdout]).toEqual([3, ''])
  })

  it('put - reads the value from stdin, binary included', async () => {
    expect((await cliWithStdin('from stdin\n', 'put', 'cli:t:stdin', '-')).code).toBe(0)
    expect((await cli('get', 'cli:t:stdin')).stdout).toBe('from stdin\n')
    expect((await cliWithStdin('\u00ff', 'put', 'cli:t:bin', '-')).code).toBe(0)
  })

  it('del, invalidate and upsert', async () => {
    await cli('put', 'cli:t:d', 'x')
    expect((await cli('del', 'cli:t:d')).stdout).toBe('deleted\n')
    expect((await cli('del', 'cli:t:d')).stdout).toBe('absent\n')
    expect((await cli('invalidate', 'cli:t:d')).stdout).toBe('OK\n')
    expect((await cli('upsert', 'cli', 'rows', '7', 'row-7')).stdout).toBe('OK\n')
    expect((await cli('get', 'cli:rows:7')).stdout).toBe('row-7')
  })

  it('stats prints a table, or JSON with --json', async () => {
    const table = await cli('stats')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^items\s+\d+/m)
    expect(table.stdout).toMatch(/^gets\s+\d+ \(hits \d+, misses \d+, hit rate/m)
    expect(table.stdout).toMatch(/^connections\s+1 open \(\d+ accepted, 0 refused\)$/m)
    const json = JSON.parse((await cli('stats', '--json')).stdout)
    expect(json.putCalls).toBeGreaterThan(0)
    expect(json.bytesMax).toBe(128 * 1024 * 1024)
  })

  it('watch prints events as NDJSON, filtered by --svc/--table', async () => {
    const child = spawn(process.execPath, [CLI, 'watch', '--svc', 'cli', '--table', 'w', '--socket', socket])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    await eventually(async () => (await cli('stats', '--json')).stdout.includes('"subscribersCurrent":1'))
    await cli('invalidate', 'other:w:1')
    await cli('invalidate', 'cli:other:1')
    await cli('invalidate', 'cli:w:1')
    await cli('upsert', 'cli', 'w', '2', 'v')
    await eventually(() => out.split('\n').filter(Boolean).length >= 2)
    child.kill('SIGINT')
    await new Promise((r) => child.on('exit', r))
    expect(out.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { type: 'invalidate', key: 'cli:w:1' },
      { type: 'table_changed', key: 'cli:w:2' },
    ])
  })

  it('mset, mget, exists, mdel, incr, cas, keys and clear', async () => {
    expect((await cli('mset', 'cli:b:1', 'one', 'cli:b:2', 'two')).stdout).toBe('OK\n')
    expect((await cli('mget', 'cli:b:1', 'cli:b:none')).stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { key: 'cli:b:1', value: 'one' },
      { key: 'cli:b:none', value: null },
    ])
    expect((await cli('exists', 'cli:b:1', 'cli:b:2', 'cli:b:3')).stdout).toBe('2\n')
    expect((await cli('incr', 'cli:n:1')).stdout).toBe('1\n')
    expect((await cli('incr', 'cli:n:1', '41')).stdout).toBe('42\n')
    expect((await cli('cas', 'cli:b:1', 'one', 'uno')).stdout).toBe('true\n')
    expect((await cli('cas', 'cli:b:1', 'one', 'again')).stdout).toBe('false\n')
    expect((await cli('cas', 'cli:b:9', '-', 'new', '--absent')).stdout).toBe('true\n')
    expect((await cli('put', 'cli:v:1', 'v3', '--version', '3')).code).toBe(0)
    const stale = await cli('put', 'cli:v:1', 'v2', '--version', '2')
    expect([stale.code, stale.stderr]).toEqual([1, expect.stringMatching(/version 2 refused/)])
    const keys = (await cli('keys', '--svc', 'cli', '--table', 'b', '--limit', '2')).stdout.trim().split('\n').sort()
    expect(keys).toEqual(['cli:b:1', 'cli:b:2', 'cli:b:9'])
    expect((await cli('mdel', 'cli:b:1', 'cli:b:2', 'cli:b:none')).stdout).toBe('2\n')
    expect(Number((await cli('clear')).stdout)).toBeGreaterThan(0)
    expect((await cli('exists', 'cli:b:9')).stdout).toBe('0\n')
  })

  it('invalidate-table, -service and -prefix, put --depends-on, and stats --by-svc', async () => {
    await cli('mset', 'cli:sc:1', 'a', 'cli:sc:2', 'b', 'cli:other:1', 'c', 'zz:t:1', 'd')
    expect((await cli('invalidate-table', 'cli', 'sc')).stdout).toBe('2\n')
    expect((await cli('invalidate-prefix', 'cli:oth')).stdout).toBe('1\n')
    expect((await cli('invalidate-service', 'zz')).stdout).toBe('1\n')
    await cli('put', 'cli:src:1', 'row')
    expect((await cli('put', 'cli:derived:1', 'x', '--depends-on', 'cli:src:1,cli:src:2')).code).toBe(0)
    await cli('invalidate', 'cli:src:2')
    expect((await cli('get', 'cli:derived:1')).code).toBe(3)
    await cli('get', 'cli:src:1')
    const bySvc = await cli('stats', '--by-svc')
    expect(bySvc.stdout).toMatch(/^service\s+bytes\s+cap\s+items\s+hits\s+misses\s+hit rate$/m)
    expect(bySvc.stdout).toMatch(/^cli\s+\d/m)
  })

  it('errors exit 1 with a message on stderr; usage errors exit 2', async () => {
    const bad = await cli('get', 'not-a-key')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/InvalidKey|invalid key/)
    const usage = await runNode([CLI, 'get'])
    expect(usage.code).toBe(2)
    const unknown = await runNode([CLI, 'frobnicate'])
    expect(unknown.code).toBe(2)
    const down = await runNode([CLI, 'ping', '--socket', tempSocketPath()])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/not up/)
  })
})
