import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalCachedClient, serve, type DaemonServer } from '../ts/index'
import { defaultSocketPath, parseSize } from '../ts/server/options'
import { ROOT, eventually, runNode, tempSocketPath } from './helpers'

const servers: DaemonServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

async function start(socket: string, extra = {}): Promise<DaemonServer> {
  const server = await serve({ socket, logLevel: 'silent', ...extra })
  servers.push(server)
  return server
}

async function startError(socket: string): Promise<Error> {
  try {
    servers.push(await serve({ socket, logLevel: 'silent' }))
  } catch (err) {
    return err as Error
  }
  throw new Error('expected serve() to refuse')
}

describe('socket path safety', () => {
  it('removes a stale socket left by a killed daemon and starts', async () => {
    const socket = tempSocketPath()
    const r = await runNode(['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`])
    expect(r.signal).toBe('SIGKILL')
    expect(lstatSync(socket).isSocket()).toBe(true)
    await start(socket)
    const client = await LocalCachedClient.connect(socket)
    await client.ping()
    await client.close()
  })

  it('refuses to start when a live daemon answers on the socket, and leaves it serving', async () => {
    const socket = tempSocketPath()
    await start(socket)
    const err = await startError(socket)
    expect(err.message).toMatch(/already listening/)
    const client = await LocalCachedClient.connect(socket)
    await client.ping()
    await client.close()
  })

  it('never unlinks a file that is not a socket, or a symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-'))
    const file = join(dir, 'not-a-socket')
    writeFileSync(file, 'precious')
    expect((await startError(file)).message).toMatch(/not a socket/)
    expect(readFileSync(file, 'utf8')).toBe('precious')
    const link = join(dir, 'link.sock')
    symlinkSync(file, link)
    expect((await startError(link)).message).toMatch(/symbolic link/)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    rmSync(dir, { recursive: true })
  })

  it('checks the path length before binding, with an actionable message', async () => {
    const err = await startError('/tmp/' + 'x'.repeat(120) + '.sock')
    expect(err.message).toMatch(/over the 107-byte Unix limit/)
    expect(err.message).toMatch(/--socket/)
  })

  it('creates the socket 0600 by default and applies --socket-mode', async () => {
    const a = tempSocketPath()
    await start(a)
    expect(lstatSync(a).mode & 0o777).toBe(0o600)
    const b = tempSocketPath()
    await start(b, { socketMode: 0o660 })
    expect(lstatSync(b).mode & 0o777).toBe(0o660)
  })

  it('resolves the default socket path from the environment', () => {
    expect(defaultSocketPath({ LOCALCACHED_SOCKET: '/x/y.sock', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/x/y.sock')
    expect(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/run/user/1/localcached.sock')
    expect(defaultSocketPath({})).toBe(`/tmp/localcached-${process.getuid!()}.sock`)
  })

  it('parses sizes the way --max-bytes documents them', () => {
    expect(parseSize('134217728')).toBe(134217728)
    expect(parseSize('128mb')).toBe(128 * 1024 * 1024)
    expect(parseSize('1gb')).toBe(1024 ** 3)
    expect(parseSize('64KB')).toBe(65536)
    expect(() => parseSize('12 parsecs')).toThrow(/byte count/)
    expect(() => parseSize('0')).toThrow()
  })
})

describe('shutdown', () => {
  it('on SIGTERM stops accepting, ends subscribers, removes the socket and exits 0', async () => {
    const socket = tempSocketPath()
    const child = spawn(process.execPath, [join(ROOT, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    child.stderr.on('data', (d) => (log += d))
    await eventually(() => existsSync(socket))
    const client = await LocalCachedClient.connect(socket)
    const sub = await client.subscribe()
    await client.put('a:b:c', 'v')
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(existsSync(socket)).toBe(false)
    // The stream ended without the subscriber asking: it must learn its cache may go stale.
    expect(await sub.next()).toEqual({ value: { type: 'reset' }, done: false })
    const lines = log.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.map((l) => l.msg)).toEqual(['localcached listening', 'shutting down', 'stopped'])
    await client.close()
  })

  it('the programmatic server closes the same way', async () => {
    const socket = tempSocketPath()
    const server = await serve({ socket, logLevel: 'silent' })
    await server.close()
    await server.close()
    expect(existsSync(socket)).toBe(false)
  })
})

describe('logging', () => {
  it('logs start-up configuration at info and nothing per request', async () => {
    const lines: string[] = []
    const socket = tempSocketPath()
    const server = await serve({ socket, logLevel: 'info', logDestination: { write: (l: string) => lines.push(l) } })
    const client = await LocalCachedClient.connect(socket)
    for (let i = 0; i < 50; i++) await client.put(`a:b:${i}`, 'v')
    await client.close()
    await server.close()
    const parsed = lines.map((l) => JSON.parse(l))
    expect(parsed[0]).toMatchObject({ msg: 'localcached listening', socket, maxBytes: 128 * 1024 * 1024, publishDefault: true })
    expect(parsed.map((l) => l.msg)).toEqual(['localcached listening', 'shutting down', 'stopped'])
  })
})

