// RESP authentication: the password on every RESP listener, Redis's replies and error texts,
// real clients (ioredis, node-redis, redis-cli) authenticating, and safe TCP binding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Writable } from 'node:stream'
import Redis from 'ioredis'
import { createClient } from 'redis'
import { serve, type DaemonServer } from '../ts/index'
import { ROOT, requireTool, runNode, tempSocketPath } from './helpers'

const run = promisify(execFile)
const redisCli = requireTool('redis-cli')
const PASSWORD = 'correct horse battery staple'
const CLI = join(ROOT, 'dist/cjs/cli.js')

let server: DaemonServer
let respSocket: string

beforeAll(async () => {
  respSocket = tempSocketPath()
  server = await serve({ socket: tempSocketPath(), respSocket, respPort: 0, respPassword: PASSWORD, logLevel: 'silent' })
})
afterAll(() => server.close())

/** Sends raw RESP on a fresh connection and resolves everything received until `replies` replies arrived. */
function exchange(target: { path: string } | { port: number }, commands: string[][], replies = commands.length): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? connect(target.path) : connect(target.port, '127.0.0.1')
    let received = ''
    socket.on('error', reject)
    socket.on('data', (d) => {
      received += d.toString('latin1')
      if (countReplies(received) >= replies) {
        socket.destroy()
        resolve(received)
      }
    })
    socket.on('close', () => resolve(received))
    socket.write(commands.map((args) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')).join(''))
  })
}

/** Counts top-level replies in a RESP2 stream (enough for the shapes these tests see). */
function countReplies(text: string): number {
  const lines = text.split('\r\n')
  let count = 0
  let i = 0
  const skip = (): boolean => {
    if (i >= lines.length - 1) return false
    const line = lines[i++]
    if (line.startsWith('$')) {
      if (line !== '$-1') i++
      return true
    }
    if (line.startsWith('*')) {
      const n = Number(line.slice(1))
      for (let k = 0; k < n; k++) if (!skip()) return false
      return true
    }
    return true
  }
  while (skip()) count++
  return count
}

const both = () => [{ path: respSocket }, { port: server.respPort! }]

describe('RESP password: replies as Redis gives them', () => {
  it('before AUTH, anything else gets NOAUTH on the Unix and the TCP listener, GET/SET fast path included', async () => {
    for (const target of both()) {
      const out = await exchange(target, [['GET', 'a:b:c'], ['SET', 'a:b:c', 'v'], ['PING'], ['DBSIZE']])
      expect(out).toBe('-NOAUTH Authentication required.\r\n'.repeat(4))
    }
  })

  it('a wrong password gets WRONGPASS; AUTH pw and AUTH default pw both work', async () => {
    for (const target of both()) {
      expect(await exchange(target, [['AUTH', 'nope'], ['GET', 'a:b:c']])).toBe(
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n',
      )
      expect(await exchange(target, [['AUTH', 'someone', PASSWORD]])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n')
      expect(await exchange(target, [['AUTH', PASSWORD], ['SET', 'auth:t:1', 'v'], ['GET', 'auth:t:1']])).toBe('+OK\r\n+OK\r\n$1\r\nv\r\n')
      expect(await exchange(target, [['AUTH', 'default', PASSWORD], ['GET', 'auth:t:1']])).toBe('+OK\r\n$1\r\nv\r\n')
    }
  })

  it('HELLO 2 AUTH default pw authenticates; HELLO without AUTH before it is NOAUTH; QUIT is allowed', async () => {
    const hello = await exchange({ path: respSocket }, [['HELLO', '2', 'AUTH', 'default', PASSWORD], ['GET', 'auth:t:1']])
    expect(hello).toMatch(/^\*14\r\n\$6\r\nserver\r\n/)
    expect(hello.endsWith('$1\r\nv\r\n')).toBe(true)
    expect(await exchange({ path: respSocket }, [['HELLO', '2', 'AUTH', 'default', 'nope']])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n')
    expect(await exchange({ path: respSocket }, [['HELLO']])).toMatch(/^-NOAUTH HELLO must be called with the client already authenticated/)
    expect(await exchange({ path: respSocket }, [['QUIT']])).toBe('+OK\r\n')
  })

  it('RESET answers +RESET and de-authenticates', async () => {
    const out = await exchange({ path: respSocket }, [['AUTH', PASSWORD], ['RESET'], ['GET', 'auth:t:1'], ['AUTH', PASSWORD], ['GET', 'auth:t:1']])
    expect(out).toBe('+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n+OK\r\n$1\r\nv\r\n')
  })

  it('AUTH on a daemon without a password gets the error text Redis gives; RESET leaves subscribed mode', async () => {
    const open = tempSocketPath()
    const plain = await serve({ socket: false, respSocket: open, logLevel: 'silent' })
    try {
      expect(await exchange({ path: open }, [['AUTH', 'x']])).toBe(
        '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
      )
      expect(await exchange({ path: open }, [['SUBSCRIBE', 'localcached:flush'], ['RESET'], ['PING']])).toMatch(/\+RESET\r\n\+PONG\r\n$/)
    } finally {
      await plain.close()
    }
  })
})

describe('RESP password: real clients', () => {
  it('ioredis authenticates with the password option (Unix socket and TCP); without it commands fail NOAUTH', async () => {
    for (const where of [{ path: respSocket }, { host: '127.0.0.1', port: server.respPort! }]) {
      const client = new Redis({ ...where, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0 })
      await client.connect()
      expect(await client.set('auth:io:1', 'io')).toBe('OK')
      expect(await client.get('auth:io:1')).toBe('io')
      client.disconnect()
    }
    // No ready check: its INFO would fail NOAUTH and close the connection before the GET.
    const anonymous = new Redis({ path: respSocket, lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false })
    anonymous.on('error', () => {})
    await anonymous.connect()
    await expect(anonymous.get('auth:io:1')).rejects.toThrow(/NOAUTH/)
    anonymous.disconnect()
  })

  it('node-redis authenticates with password in createClient and in the url', async () => {
    const byOption = createClient({ RESP: 2, password: PASSWORD, socket: { host: '127.0.0.1', port: server.respPort! } })
    await byOption.connect()
    expect(await byOption.set('auth:nr:1', 'nr')).toBe('OK')
    await byOption.quit()
    const byUrl = createClient({ RESP: 2, url: `redis://default:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.respPort}` })
    await byUrl.connect()
    expect(await byUrl.get('auth:nr:1')).toBe('nr')
    await byUrl.quit()
  })

  it.skipIf(redisCli.skip)(redisCli.title('redis-cli authenticates with -a, --pass and REDISCLI_AUTH'), async () => {
    const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => (await run(redisCli.command, ['-s', respSocket, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })).stdout.trim()
    expect(await cli(['-a', PASSWORD, '--no-auth-warning', 'SET', 'auth:cli:1', 'c'])).toBe('OK')
    expect(await cli(['--pass', PASSWORD, '--no-auth-warning', 'GET', 'auth:cli:1'])).toBe('c')
    expect(await cli(['GET', 'auth:cli:1'], { REDISCLI_AUTH: PASSWORD })).toBe('c')
    expect(await cli(['GET', 'auth:cli:1'])).toMatch(/NOAUTH/)
  })
})

describe('RESP password: sources, binding rules and logs', () => {
  it('the password comes from respPasswordFile or $LOCALCACHED_RESP_PASSWORD; two sources are BadArgument', async () => {
    const file = join(tmpdir(), `lc-pw-${process.pid}`)
    writeFileSync(file, 'from-file\n', { mode: 0o600 })
    const sock = tempSocketPath()
    const fromFile = await serve({ socket: false, respSocket: sock, respPasswordFile: file, logLevel: 'silent' })
    expect(await exchange({ path: sock }, [['AUTH', 'from-file']])).toBe('+OK\r\n')
    await fromFile.close()
    process.env.LOCALCACHED_RESP_PASSWORD = 'from-env'
    try {
      const fromEnv = await serve({ socket: false, respSocket: sock, logLevel: 'silent' })
      expect(await exchange({ path: sock }, [['AUTH', 'from-env']])).toBe('+OK\r\n')
      await fromEnv.close()
      await expect(serve({ socket: false, respSocket: sock, respPassword: 'x', logLevel: 'silent' })).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/given more than once/) })
    } finally {
      delete process.env.LOCALCACHED_RESP_PASSWORD
    }
  })

  it('refuses a non-loopback --resp-host without a password (serve() BadArgument, CLI exit 2); allows it with one', async () => {
    await expect(serve({ socket: false, respPort: 0, respHost: '0.0.0.0', logLevel: 'silent' })).rejects.toMatchObject({
      code: 'BadArgument',
      message: expect.stringMatching(/refusing to serve RESP on 0\.0\.0\.0:0 without a password/),
    })
    const r = await runNode([CLI, 'serve', '--no-socket', '--resp-port', '0', '--resp-host', '0.0.0.0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/refusing to serve RESP on 0\.0\.0\.0:0 without a password.*--resp-password-file/)
    const both = await runNode([CLI, 'serve', '--no-socket', '--resp-port', '0', '--resp-password', 'a'], { env: { LOCALCACHED_RESP_PASSWORD: 'b' } })
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/given more than once \(--resp-password and \$LOCALCACHED_RESP_PASSWORD\)/)
    const guarded = await serve({ socket: false, respPort: 0, respHost: '0.0.0.0', respPassword: 'p', logLevel: 'silent' })
    await guarded.close()
  })

  it('a loopback port without a password logs a warning; the start line shows a password as *** and never the password', async () => {
    const lines: string[] = []
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) })
    const open = await serve({ socket: false, respPort: 0, logDestination: sink as never })
    await open.close()
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.level === 40)
    expect(warning.msg).toMatch(/RESP port has no password: any local user can connect/)
    lines.length = 0
    const guarded = await serve({ socket: false, respPort: 0, respPassword: 'hunter2-secret', logDestination: sink as never })
    await guarded.close()
    expect(lines.join('')).not.toContain('hunter2-secret')
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'localcached listening', respPassword: '***' })
    expect(lines.some((l) => JSON.parse(l).level === 40)).toBe(false)
  })
})
