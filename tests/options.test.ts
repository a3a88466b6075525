// One option grammar: the option table drives serve's flags, serve()'s checks and the README;
// every options object (serve(), NativeStore, connect, per-call) refuses typos and wrong types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalCachedClient, NativeStore, serve, type DaemonServer } from '../ts/index'
import { README_TABLE_BEGIN, README_TABLE_END, SERVE_OPTIONS, renderFlagTable } from '../ts/server/option-table'
import { resolveOptions } from '../ts/server/options'
import { parseSize } from '../ts/server/size'
import { redactSecrets } from '../ts/server/redact'
import { buildProgram } from '../ts/cli'
import { ROOT, runNode, tempSocketPath } from './helpers'

const CLI = join(ROOT, 'dist/cjs/cli.js')

describe('the option table', () => {
  it('the README flag table is the one rendered from the option table (npm run generate:readme)', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const between = readme.slice(readme.indexOf(README_TABLE_BEGIN) + README_TABLE_BEGIN.length, readme.indexOf(README_TABLE_END))
    expect(between.trim()).toBe(renderFlagTable())
    const check = await runNode(['scripts/generate-readme.mjs', '--check'])
    expect([check.code, check.stderr]).toEqual([0, ''])
  })

  it('serve has exactly the table’s flags', () => {
    const serveCommand = buildProgram(() => {}).commands.find((c) => c.name() === 'serve')!
    const flags = serveCommand.options.map((o) => o.flags).sort()
    const table = SERVE_OPTIONS.flatMap((o) => [o.flag, o.negate?.flag]).filter((f): f is string => f !== undefined).sort()
    expect(flags).toEqual(table)
  })

  it('the defaults the table shows are the defaults serve() applies', () => {
    const resolved = resolveOptions({ socket: '/x.sock' }, {}) as unknown as Record<string, unknown>
    for (const o of SERVE_OPTIONS) {
      if (!o.flag || !o.fromFlag || !/^(\d+(kb|mb|gb)?|on|off)$/.test(o.default)) continue
      expect(resolved[o.name], o.name).toEqual(o.fromFlag(o.default, undefined))
    }
    expect(resolved.publishDefault).toBe(true)
    expect(resolved.respHost).toBe('127.0.0.1')
  })
})

describe('serve() takes every flag as a camelCase option, and refuses typos and wrong types', () => {
  it('accepts what the flags accept: size strings, octal mode strings, on/off', () => {
    const r = resolveOptions({ socket: '/x.sock', maxBytes: '1gb', maxValueBytes: '64kb', socketMode: '0660', publishDefault: 'off', svcCaps: { a: '1mb', b: 5 } }, {})
    expect([r.maxBytes, r.maxValueBytes, r.socketMode, r.publishDefault, r.svcCaps]).toEqual([1024 ** 3, 64 * 1024, 0o660, false, { a: 1024 * 1024, b: 5 }])
  })

  it('unknown names and wrong types are BadArgument naming the option', async () => {
    await expect(serve({ socket: tempSocketPath(), maxByte: 10 } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'maxByte' \(did you mean 'maxBytes'\?\)/) })
    await expect(serve({ socket: tempSocketPath(), ttl: 10 } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'ttl'/) })
    await expect(serve({ socket: tempSocketPath(), heartbeatMs: '100' } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/heartbeatMs must be an integer ≥ 1, got the string '100'/) })
    await expect(serve({ socket: tempSocketPath(), respPort: 70000 })).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/respPort must be an integer from 0 to 65535/) })
    await expect(serve({ socket: tempSocketPath(), logLevel: 'verbose' as never })).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/logLevel must be one of "fatal", "error"/) })
  })

  it('sizes say what is accepted: 1g → did you mean 1gb?', () => {
    expect(() => parseSize('1g', '--max-bytes')).toThrow(/--max-bytes takes a byte count like 134217728, 128mb or 1gb .*got '1g' \(did you mean 1gb\?\)/)
    expect(() => parseSize('lots', '--max-bytes')).toThrow(/got 'lots'$/)
    expect(parseSize('512KB')).toBe(512 * 1024)
  })
})

describe('serve flags: usage errors exit 2 and say what is accepted', () => {
  const serveWith = (...args: string[]) => runNode([CLI, 'serve', '--socket', tempSocketPath(), ...args])

  it('--max-bytes 1g suggests 1gb; --log-level verbose lists the levels; --resp-port 99999 says 0–65535', async () => {
    const size = await serveWith('--max-bytes', '1g')
    expect(size.code).toBe(2)
    expect(size.stderr).toMatch(/did you mean 1gb\?/)
    expect(size.stderr).not.toMatch(/NaN/)
    const level = await serveWith('--log-level', 'verbose')
    expect(level.code).toBe(2)
    expect(level.stderr).toMatch(/--log-level takes one of fatal, error, warn, info, debug, trace, silent, got 'verbose'/)
    const port = await serveWith('--resp-port', '99999')
    expect(port.code).toBe(2)
    expect(port.stderr).toMatch(/--resp-port takes an integer from 0 to 65535/)
    const format = await serveWith('--log-format', 'xml')
    expect(format.code).toBe(2)
    expect(format.stderr).toMatch(/--log-format takes one of auto, pretty, json/)
  })

  it("commander's own errors exit 2 too: an unknown flag, a missing value; a client flag value error exits 2", async () => {
    expect((await serveWith('--max-byte', '1gb')).code).toBe(2)
    expect((await runNode([CLI, 'serve', '--max-bytes'])).code).toBe(2)
    const ttl = await runNode([CLI, 'put', 'a:b:c', 'v', '--ttl', 'soon', '--socket', tempSocketPath()])
    expect(ttl.code).toBe(2)
    expect(ttl.stderr).toMatch(/--ttl must be a positive integer number of milliseconds, got 'soon'/)
  })
})

describe('NativeStore, connect and per-call options refuse typos and wrong types alike', () => {
  let server: DaemonServer
  let socket: string
  let client: LocalCachedClient
  beforeAll(async () => {
    socket = tempSocketPath()
    server = await serve({ socket, logLevel: 'silent' })
    client = await LocalCachedClient.connect(socket)
  })
  afterAll(async () => {
    await client.close()
    await server.close()
  })

  it('new NativeStore() with an unknown or mistyped option is BadArgument naming it', () => {
    expect(() => new NativeStore({ maxByte: 1024 } as never)).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/new NativeStore\(\): unknown option 'maxByte' \(did you mean 'maxBytes'\?\)/) }))
    expect(() => new NativeStore({ maxBytes: '64mb' } as never)).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/maxBytes must be/) }))
    expect(() => new NativeStore({ clock: 'fake' } as never)).toThrow(expect.objectContaining({ code: 'BadArgument' }))
  })

  it('LocalCachedClient.connect with an unknown or mistyped option is BadArgument', async () => {
    await expect(LocalCachedClient.connect(socket, { timeoutMs: '100' } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/connect\(\): timeoutMs must be an integer ≥ 1, got the string '100'/) })
    await expect(LocalCachedClient.connect(socket, { timeout: 100 } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'timeout' \(did you mean 'timeoutMs'\?\)/) })
  })

  it('a bad per-call option is BadArgument from the client, as from NativeStore (not the daemon’s BadRequest)', async () => {
    const store = new NativeStore()
    expect(() => store.set('o:p:1', 'v', { ttlMs: -1 })).toThrow(expect.objectContaining({ code: 'BadArgument' }))
    store.close()
    await expect(client.put('o:p:1', 'v', { ttlMs: -1 })).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/client\.put\(\): ttlMs must be an integer ≥ 1/) })
    await expect(client.put('o:p:1', 'v', { ttl: 5 } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'ttl'/) })
    await expect(client.put('o:p:1', 'v', { version: '3' } as never)).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(client.get('o:p:1', { timeoutMs: 0 })).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(client.del('o:p:1', { publish: 'no' } as never)).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(client.keys({ limit: 0 })).rejects.toMatchObject({ code: 'BadArgument' })
    // Nothing reached the daemon: the connection is healthy and the key was never written.
    expect(await client.get('o:p:1')).toBeNull()
  })
})

describe('redaction', () => {
  it('passwords and URL credentials become ***, the rest stays', () => {
    expect(redactSecrets({ respPassword: 'pw', nested: { apiToken: 't', url: 'redis://user:pass@host:6379/0', plain: 'redis://host' }, list: ['https://tok@example.com/x'] })).toEqual({
      respPassword: '***',
      nested: { apiToken: '***', url: 'redis://user:***@host:6379/0', plain: 'redis://host' },
      list: ['https://***@example.com/x'],
    })
  })
})

describe('NativeStore per-call options', () => {
  it('an unknown option name on any call is BadArgument naming it, with a suggestion', async () => {
    const { NativeStore } = await import('../ts/index')
    const store = new NativeStore({ sweepIntervalMs: 0 })
    try {
      const calls: Array<[string, () => unknown]> = [
        ['ttl', () => store.set('o:p:1', 'v', { ttl: 5 } as never)],
        ['tll', () => store.incr('o:p:2', 1, { tll: 5 } as never)],
        ['ttlMS', () => store.mset([['o:p:3', 'v']], { ttlMS: 5 } as never)],
        ['dependsOn', () => store.tableChangedUpsert('o', 'p', '4', 'v', { dependsOn: ['o:p:1'] } as never)],
        ['whn', () => store.setIf('o:p:5', 'v', { whn: 'absent' } as never)],
        ['limt', () => store.keys({ limt: 5 } as never)],
      ]
      for (const [name, call] of calls) {
        expect(call, name).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringContaining(`unknown option '${name}'`) }))
      }
      await expect(store.getOrLoad('o:p:6', async () => 'x', { ttl: 5 } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'ttl' \(did you mean 'ttlMs'\?\)/) })
      expect(store.has('o:p:1')).toBe(false) // nothing was stored by a refused call
      store.set('o:p:7', 'v', { ttlMs: 1000, version: undefined }) // absent values are fine
      expect(store.get('o:p:7')?.toString()).toBe('v')
    } finally {
      store.close()
    }
  })
})

describe('the rest of the option grammar', () => {
  it('client getOrLoad and connect()\'s nested reconnect and nearCache options are checked by name and type', async () => {
    const socket = tempSocketPath()
    const server = await serve({ socket, logLevel: 'silent' })
    try {
      await expect(LocalCachedClient.connect(socket, { reconnect: { enable: false } } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'enable' \(did you mean 'enabled'\?\)/) })
      await expect(LocalCachedClient.connect(socket, { reconnect: { initialDelayMs: '100' } } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/initialDelayMs/) })
      await expect(LocalCachedClient.connect(socket, { nearCache: { maxByte: 1024 } } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'maxByte'/) })
      const client = await LocalCachedClient.connect(socket, { reconnect: { enabled: false }, nearCache: { maxBytes: 1 << 20 } })
      await expect(client.getOrLoad('o:g:1', async () => 'x', { ttl: 5 } as never)).rejects.toMatchObject({ code: 'BadArgument', message: expect.stringMatching(/unknown option 'ttl' \(did you mean 'ttlMs'\?\)/) })
      await client.close()
    } finally {
      await server.close()
    }
  })

  it('NativeStore.setIf takes only booleans for its flags and a known when; expire needs a TTL or null', () => {
    const store = new NativeStore({ sweepIntervalMs: 0 })
    try {
      expect(() => store.setIf('o:s:1', 'v', { keepTtl: 'yes' } as never)).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/keepTtl must be true or false/) }))
      expect(() => store.setIf('o:s:1', 'v', { returnOld: 1 } as never)).toThrow(expect.objectContaining({ code: 'BadArgument' }))
      expect(() => store.setIf('o:s:1', 'v', { when: 'toString' } as never)).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/when must be/) }))
      expect(store.has('o:s:1')).toBe(false)
      store.set('o:s:2', 'v', { ttlMs: 60_000 })
      expect(() => (store.expire as (k: string) => boolean)('o:s:2')).toThrow(expect.objectContaining({ code: 'BadArgument' }))
      expect(store.getWithMeta('o:s:2')?.ttlMs).toBeGreaterThan(0) // the TTL stayed
    } finally {
      store.close()
    }
  })
})
