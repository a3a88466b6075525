// Errors a person can act on, waiting for the daemon, and readable logs.
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { LocalCachedClient, serve } from '../ts/index'
import { cannotCreateSocket } from '../ts/server/socket-file'
import { main } from '../ts/cli'
import { ROOT, eventually, runNode, tempSocketPath } from './helpers'

const CLI = join(ROOT, 'dist/cjs/cli.js')
const HINT = 'is the daemon running? start it with `npx localcached-native serve`'

describe('a daemon that is not running', () => {
  it('the client says so, with the hint to start it (no socket, or a stale socket)', async () => {
    const path = tempSocketPath()
    await expect(LocalCachedClient.connect(path)).rejects.toMatchObject({ code: 'ConnectionLost', message: expect.stringContaining(HINT) })
    await expect(LocalCachedClient.connect(path)).rejects.toMatchObject({ message: expect.stringMatching(/no socket at that path \(ENOENT\)/) })
  })

  it('the CLI prints the hint and exits 1', async () => {
    const r = await runNode([CLI, 'ping', '--socket', tempSocketPath()])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(HINT)
  })
})

describe('waiting for the daemon: connect(path, { waitMs })', () => {
  it('waitMs 3000, daemon started 500 ms later: connects', async () => {
    const socket = tempSocketPath()
    let server: Awaited<ReturnType<typeof serve>> | undefined
    const starting = new Promise<void>((resolve) => setTimeout(async () => {
      server = await serve({ socket, logLevel: 'silent' })
      resolve()
    }, 500))
    const started = Date.now()
    const client = await LocalCachedClient.connect(socket, { waitMs: 3000 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(450)
    await client.ping()
    await client.close()
    await starting
    await server!.close()
  })

  it('waitMs 200 with no daemon: fails with the hint within about 200–600 ms', async () => {
    const started = Date.now()
    await expect(LocalCachedClient.connect(tempSocketPath(), { waitMs: 200 })).rejects.toMatchObject({ code: 'ConnectionLost', message: expect.stringContaining(HINT) })
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(190)
    expect(took).toBeLessThan(600)
  })

  it('the default (waitMs 0) fails fast', async () => {
    const started = Date.now()
    await expect(LocalCachedClient.connect(tempSocketPath())).rejects.toMatchObject({ code: 'ConnectionLost' })
    expect(Date.now() - started).toBeLessThan(150)
  })
})

describe("the socket's directory", () => {
  it('a missing directory is ENOENT, said as such (CannotListen), not permission denied, and with no log line', async () => {
    const path = join('/nonexistent-lc-dir', 'x.sock')
    await expect(serve({ socket: path, logLevel: 'silent' })).rejects.toMatchObject({ code: 'CannotListen', message: expect.stringMatching(/its directory \/nonexistent-lc-dir does not exist \(ENOENT\)/) })
    const r = await runNode([CLI, 'serve', '--socket', path])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`localcached-native: cannot create the socket ${path}: its directory /nonexistent-lc-dir does not exist (ENOENT). Create it (mkdir -p /nonexistent-lc-dir) or choose another path with --socket.\n`)
  })

  it('no permission on the directory is EACCES, said as such', () => {
    const err = cannotCreateSocket('/root/private/x.sock', Object.assign(new Error('EACCES'), { code: 'EACCES' }))
    expect(err.code).toBe('CannotListen')
    expect(err.message).toMatch(/permission denied on \/root\/private \(EACCES\)/)
  })
})

describe('get on a terminal', () => {
  it('ends its output with a newline when stdout is a terminal, and gives the bytes exactly otherwise', async () => {
    const socket = tempSocketPath()
    const server = await serve({ socket, logLevel: 'silent' })
    try {
      const client = await LocalCachedClient.connect(socket)
      await client.put('tty:t:1', 'no newline')
      await client.close()
      for (const isTTY of [true, false]) {
        let printed = ''
        const code = await main(['node', 'cli', 'get', 'tty:t:1', '--socket', socket], { stdout: (d) => (printed += d.toString()), isTTY })
        expect(code).toBe(0)
        expect(printed).toBe(isTTY ? 'no newline\n' : 'no newline')
      }
    } finally {
      await server.close()
    }
  })
})

describe('--log-format', () => {
  async function startLines(format: string): Promise<string> {
    const child = spawn(process.execPath, [CLI, 'serve', '--socket', tempSocketPath(), '--log-format', format, '--max-bytes', '64mb'])
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    await eventually(() => stderr.includes('localcached listening'))
    child.kill('SIGTERM')
    // 'close', not 'exit': stderr's last lines arrive after the process has exited.
    await new Promise((r) => child.on('close', r))
    return stderr
  }

  it('pretty: short human lines (time, level, message, the fields that matter)', async () => {
    const first = (await startLines('pretty')).split('\n')[0]
    expect(first).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: localcached listening version=\S+ socket=\S+ maxBytes=64mb publishDefault=true shards=\d+$/)
    expect(first.length).toBeLessThan(160)
  })

  it('json: one JSON object per line, as before', async () => {
    const lines = (await startLines('json')).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines[0]).toMatchObject({ msg: 'localcached listening', maxBytes: 64 * 1024 * 1024, level: 30 })
    expect(lines.map((l) => l.msg)).toEqual(['localcached listening', 'shutting down', 'stopped'])
  })

  it('auto: JSON when stderr is not a terminal', async () => {
    const first = (await startLines('auto')).split('\n')[0]
    expect(JSON.parse(first)).toMatchObject({ msg: 'localcached listening' })
  })
})
