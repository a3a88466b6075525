// The CLI's client commands: each connects, makes one call, prints, and closes.
// Exit codes: 0 success, 1 error, 2 usage, 3 `get` found nothing.
import { InvalidArgumentError, Option, type Command } from 'commander'
import { LocalCachedClient } from '../client/client'
import { UsageError } from './usage-error'
import { formatByService, formatStats } from './format-stats'
import { MAX_SCAN_LIMIT } from '../limits'

export const EXIT_MISS = 3

/** Where output goes; `isTTY` says whether a person reads it on a terminal. */
export type Out = { stdout: (data: string | Uint8Array) => void; isTTY?: boolean }

async function withClient<T>(flags: { socket?: string }, run: (client: LocalCachedClient) => Promise<T>): Promise<T> {
  const client = await LocalCachedClient.connect(flags.socket)
  try {
    return await run(client)
  } finally {
    await client.close()
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function valueArg(value: string): Promise<Buffer> {
  return value === '-' ? readStdin() : Buffer.from(value)
}

function ttl(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--ttl must be a positive integer number of milliseconds, got '${text}'`)
  return n
}

function version(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--version must be a non-negative integer, got '${text}'`)
  return n
}

function publishFlag(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined
  if (text === 'on') return true
  if (text === 'off') return false
  throw new UsageError(`--publish takes on or off, got '${text}'`)
}

function keysLimit(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SCAN_LIMIT) throw new UsageError(`--limit takes an integer from 1 to ${MAX_SCAN_LIMIT}, got '${text}'`)
  return n
}

function jsonValue(key: string, value: Buffer | null): string {
  if (value === null) return JSON.stringify({ key, value: null })
  const text = value.toString('utf8')
  // Bytes that are not UTF-8 would be mangled as text; give them as base64 instead.
  return Buffer.from(text, 'utf8').equals(value) ? JSON.stringify({ key, value: text }) : JSON.stringify({ key, base64: value.toString('base64') })
}

export function registerClientCommands(program: Command, out: Out, setExitCode: (code: number) => void): void {
  const socketOption = (cmd: Command) => cmd.option('--socket <path>', 'daemon socket (default: $LOCALCACHED_SOCKET, $XDG_RUNTIME_DIR/localcached.sock, /tmp/localcached-<uid>.sock)')
  // Checked as commander parses it, so a bad value is a usage error before any connection.
  const publishOption = (cmd: Command) =>
    cmd.addOption(
      new Option('--publish <on|off>', "publish events for this write (default: the daemon's --publish-default)").argParser((text) => {
        if (text !== 'on' && text !== 'off') throw new InvalidArgumentError(`--publish takes on or off, got '${text}'`)
        return text
      }),
    )

  socketOption(program.command('ping').description('check that the daemon answers')).action(async (flags) => {
    await withClient(flags, (c) => c.ping())
    out.stdout('PONG\n')
  })

  socketOption(program.command('get <key>').description('print a value: raw bytes, or --json').option('--json', 'print {"key","value"} (or "base64" for binary values)')).action(
    async (key: string, flags) => {
      const value = await withClient(flags, (c) => c.get(key))
      if (flags.json) out.stdout(jsonValue(key, value) + '\n')
      else if (value) {
        out.stdout(value)
        // A terminal's prompt would otherwise continue the value's last line; a pipe gets the bytes exactly.
        if (out.isTTY && value.length > 0 && value[value.length - 1] !== 0x0a) out.stdout('\n')
      }
      if (value === null) setExitCode(EXIT_MISS)
    },
  )

  publishOption(
    socketOption(
      program
        .command('put <key> <value>')
        .description('store a value (- reads it from stdin)')
        .option('--ttl <ms>', 'time to live in ms')
        .option('--version <n>', 'refuse the write if the stored entry has a higher version')
        .option('--depends-on <keys>', 'comma-separated keys this value derives from; it goes when any of them changes'),
    ),
  ).action(async (key: string, value: string, flags) => {
    // Flag values first: a usage error must not wait for stdin or a connection.
    const options = { ttlMs: ttl(flags.ttl), version: version(flags.version), publish: publishFlag(flags.publish) }
    const bytes = await valueArg(value)
    const dependsOn = flags.dependsOn === undefined ? undefined : String(flags.dependsOn).split(',').filter(Boolean)
    await withClient(flags, (c) => c.put(key, bytes, { ...options, dependsOn }))
    out.stdout('OK\n')
  })

  socketOption(program.command('mget <keys...>').description('print each value as a JSON line {"key","value"} (null for a miss)')).action(async (keys: string[], flags) => {
    const values = await withClient(flags, (c) => c.mget(keys))
    out.stdout(values.map((v, i) => jsonValue(keys[i], v)).join('\n') + '\n')
  })

  publishOption(socketOption(program.command('mset <pairs...>').description('store key value [key value ...] all or nothing').option('--ttl <ms>', 'time to live in ms'))).action(
    async (pairs: string[], flags) => {
      if (pairs.length % 2 !== 0) throw new UsageError('mset takes key value pairs')
      const entries: Array<[string, Buffer]> = []
      for (let i = 0; i < pairs.length; i += 2) entries.push([pairs[i], Buffer.from(pairs[i + 1])])
      const options = { ttlMs: ttl(flags.ttl), publish: publishFlag(flags.publish) }
      await withClient(flags, (c) => c.mset(entries, options))
      out.stdout('OK\n')
    },
  )

  publishOption(socketOption(program.command('mdel <keys...>').description('delete keys; prints how many existed'))).action(async (keys: string[], flags) => {
    out.stdout(`${await withClient(flags, (c) => c.mdel(keys, { publish: publishFlag(flags.publish) }))}\n`)
  })

  socketOption(program.command('exists <keys...>').description('print how many of the keys are present')).action(async (keys: string[], flags) => {
    out.stdout(`${await withClient(flags, (c) => c.exists(keys))}\n`)
  })

  publishOption(socketOption(program.command('incr <key> [delta]').description('add delta (default 1) to an integer value; prints the result').option('--ttl <ms>', 'time to live in ms, if this creates the key'))).action(
    async (key: string, delta: string | undefined, flags) => {
      const by = delta === undefined ? 1 : Number(delta)
      if (!Number.isSafeInteger(by)) throw new UsageError(`delta must be an integer, got '${delta}'`)
      const options = { ttlMs: ttl(flags.ttl), publish: publishFlag(flags.publish) }
      out.stdout(`${await withClient(flags, (c) => c.incr(key, by, options))}\n`)
    },
  )

  publishOption(socketOption(program.command('cas <key> <expected> <next>').description('set next only if the value is expected; prints true or false').option('--absent', 'expect the key to be absent (expected is ignored)'))).action(
    async (key: string, expected: string, next: string, flags) => {
      const swapped = await withClient(flags, (c) => c.cas(key, flags.absent ? null : expected, next, { publish: publishFlag(flags.publish) }))
      out.stdout(`${swapped}\n`)
    },
  )

  socketOption(
    program
      .command('keys')
      .description('list keys, one per line, following the cursor to the end')
      .option('--svc <svc>', 'only this service')
      .option('--table <table>', 'only this table')
      .option('--prefix <prefix>', 'only keys starting with this')
      .option('--limit <n>', 'keys per request', '1000'),
  ).action(async (flags) => {
    const limit = keysLimit(flags.limit)
    await withClient(flags, async (c) => {
      let cursor: string | undefined
      do {
        const page = await c.keys({ svc: flags.svc, table: flags.table, prefix: flags.prefix, limit, cursor })
        if (page.keys.length) out.stdout(page.keys.join('\n') + '\n')
        cursor = page.cursor ?? undefined
      } while (cursor)
    })
  })

  publishOption(socketOption(program.command('clear').description('remove every entry; prints how many there were; publishes flush'))).action(async (flags) => {
    out.stdout(`${await withClient(flags, (c) => c.clear({ publish: publishFlag(flags.publish) }))}\n`)
  })

  publishOption(socketOption(program.command('del <key>').description('delete a key; prints whether it existed'))).action(async (key: string, flags) => {
    const publish = publishFlag(flags.publish)
    const existed = await withClient(flags, (c) => c.del(key, { publish }))
    out.stdout(existed ? 'deleted\n' : 'absent\n')
  })

  publishOption(socketOption(program.command('invalidate <key>').description('delete a key and publish invalidate'))).action(async (key: string, flags) => {
    await withClient(flags, (c) => c.invalidate(key, { publish: publishFlag(flags.publish) }))
    out.stdout('OK\n')
  })

  publishOption(
    socketOption(
      program
        .command('upsert <svc> <table> <pk> <value>')
        .description('upsert svc:table:pk and publish table_changed (- reads the value from stdin)')
        .option('--ttl <ms>', 'time to live in ms')
        .option('--version <n>', 'refuse the write if the stored entry has a higher version'),
    ),
  ).action(
    async (svc: string, table: string, pk: string, value: string, flags) => {
      const options = { ttlMs: ttl(flags.ttl), version: version(flags.version), publish: publishFlag(flags.publish) }
      const bytes = await valueArg(value)
      await withClient(flags, (c) => c.tableChangedUpsert(svc, table, pk, bytes, options))
      out.stdout('OK\n')
    },
  )

  socketOption(
    program.command('stats').description('print the daemon stats as a table, or --json').option('--json', 'print the stats as JSON').option('--by-svc', 'add a table of bytes, items, hits and misses per service'),
  ).action(async (flags) => {
    const stats = await withClient(flags, (c) => c.stats())
    out.stdout(flags.json ? JSON.stringify(stats) + '\n' : formatStats(stats) + (flags.bySvc ? '\n' + formatByService(stats) : ''))
  })

  socketOption(program.command('snapshot').description("save the daemon's snapshot (serve --snapshot) now; prints the entries written once the file is in place")).action(async (flags) => {
    out.stdout(`${await withClient(flags, (c) => c.snapshot())}\n`)
  })

  for (const [name, args, describe, call] of [
    ['invalidate-table', '<svc> <table>', "remove a table's entries; prints how many", (c: LocalCachedClient, a: string[], publish?: boolean) => c.invalidateTable(a[0], a[1], { publish })],
    ['invalidate-service', '<svc>', "remove a service's entries; prints how many", (c: LocalCachedClient, a: string[], publish?: boolean) => c.invalidateService(a[0], { publish })],
    ['invalidate-prefix', '<prefix>', 'remove the entries whose key starts with prefix; prints how many', (c: LocalCachedClient, a: string[], publish?: boolean) => c.invalidatePrefix(a[0], { publish })],
  ] as const) {
    publishOption(socketOption(program.command(`${name} ${args}`).description(describe))).action(async (...params: unknown[]) => {
      const flags = params[params.length - 2] as { socket?: string; publish?: string }
      const positional = params.slice(0, params.length - 2) as string[]
      const publish = publishFlag(flags.publish)
      const { removed } = await withClient(flags, (c) => call(c, positional, publish))
      out.stdout(`${removed}\n`)
    })
  }

  socketOption(
    program.command('watch').description('print events as NDJSON, one per line, until interrupted').option('--svc <svc>', 'only this service').option('--table <table>', 'only this table (needs --svc)'),
  ).action(async (flags) => {
    if (flags.table && !flags.svc) throw new UsageError('--table needs --svc')
    const client = await LocalCachedClient.connect(flags.socket)
    const subscription = await client.subscribe({ svc: flags.svc, table: flags.table })
    const stop = () => {
      subscription.close()
      void client.close()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      for await (const event of subscription) out.stdout(JSON.stringify(event) + '\n')
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      await client.close()
    }
  })
}
