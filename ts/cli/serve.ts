// `localcached-native serve`: the daemon, with every option as a flag, and shutdown on
// SIGINT/SIGTERM.
import type { Command } from 'commander'
import { serve } from '../server/server'
import { defaultSocketPath, parseSize, type ServeOptions } from '../server/options'
import { LocalCachedError } from '../errors'
import type { LevelWithSilent } from 'pino'

function integer(name: string): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < 0) throw new LocalCachedError('BadArgument', `${name} must be a non-negative integer, got '${text}'`)
    return n
  }
}

function onOff(text: string): boolean {
  if (text === 'on' || text === 'true') return true
  if (text === 'off' || text === 'false') return false
  throw new LocalCachedError('BadArgument', `--publish-default takes on or off, got '${text}'`)
}

function octalMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new LocalCachedError('BadArgument', `--socket-mode takes an octal mode like 0600 or 0660, got '${text}'`)
  return parseInt(text, 8)
}

function collectCaps(text: string, caps: Record<string, number>): Record<string, number> {
  const at = text.indexOf('=')
  if (at <= 0) throw new LocalCachedError('BadArgument', `--svc-cap takes svc=size, like orders=64mb, got '${text}'`)
  return { ...caps, [text.slice(0, at)]: parseSize(text.slice(at + 1), `--svc-cap ${text.slice(0, at)}`) }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the daemon on a Unix socket')
    .option('--socket <path>', `socket path (default: ${defaultSocketPath()})`)
    .option('--no-socket', 'no native socket: serve RESP only (needs --resp-socket or --resp-port)')
    .option('--max-bytes <size>', 'byte budget: 134217728, 128mb, 1gb (kb/mb/gb are powers of 1024)', '128mb')
    .option('--publish-default <on|off>', 'whether requests publish events unless they say otherwise', 'on')
    .option('--shards <n>', 'store shards (default: 4 x cores, a power of two)')
    .option('--max-value-bytes <size>', 'largest value accepted', '1mb')
    .option('--max-frame-bytes <size>', 'largest frame accepted (default: max value + 64kb)')
    .option('--subscriber-queue <events>', "each subscriber's bounded event queue", '1024')
    .option('--heartbeat-ms <ms>', 'heartbeat interval for subscribers', '1000')
    .option('--shutdown-timeout-ms <ms>', 'how long shutdown waits for connections', '5000')
    .option('--socket-mode <mode>', 'socket file permissions, octal', '0600')
    .option('--sweep-interval-ms <ms>', 'how often expired entries are swept', '1000')
    .option('--max-connections <n>', 'connections at once; more are refused with LimitExceeded', '4096')
    .option('--max-subscribers <n>', 'subscriptions at once; more are refused with LimitExceeded', '4096')
    .option('--max-pending-reply-bytes <size>', 'unsent replies per connection past which the daemon stops reading it', '4mb')
    .option('--max-keys <n>', 'at most this many entries (LRU eviction past it)')
    .option('--svc-cap <svc=size>', 'byte cap of one service, e.g. orders=64mb (repeatable)', collectCaps, {})
    .option('--max-tracked-keys <n>', 'keys remembered for near-cache clients (~160 bytes each); past it the oldest is invalidated', '250000')
    .option('--max-leases <n>', 'getOrLoad load leases held at once', '100000')
    .option('--resp-socket <path>', 'also speak RESP (Redis protocol) on this Unix socket')
    .option('--resp-port <port>', 'also speak RESP on this TCP port')
    .option('--resp-host <host>', 'address for --resp-port', '127.0.0.1')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .action(async (flags: Record<string, string | undefined>) => {
      const socket = flags.socket as string | false | undefined
      const options: ServeOptions = {
        socket,
        maxBytes: parseSize(flags.maxBytes!, '--max-bytes'),
        publishDefault: onOff(flags.publishDefault!),
        shards: flags.shards === undefined ? undefined : integer('--shards')(flags.shards),
        maxValueBytes: parseSize(flags.maxValueBytes!, '--max-value-bytes'),
        maxFrameBytes: flags.maxFrameBytes === undefined ? undefined : parseSize(flags.maxFrameBytes, '--max-frame-bytes'),
        subscriberQueue: integer('--subscriber-queue')(flags.subscriberQueue!),
        heartbeatMs: integer('--heartbeat-ms')(flags.heartbeatMs!),
        shutdownTimeoutMs: integer('--shutdown-timeout-ms')(flags.shutdownTimeoutMs!),
        socketMode: octalMode(flags.socketMode!),
        sweepIntervalMs: integer('--sweep-interval-ms')(flags.sweepIntervalMs!),
        maxConnections: integer('--max-connections')(flags.maxConnections!),
        maxSubscribers: integer('--max-subscribers')(flags.maxSubscribers!),
        maxPendingReplyBytes: parseSize(flags.maxPendingReplyBytes!, '--max-pending-reply-bytes'),
        maxKeys: flags.maxKeys === undefined ? undefined : integer('--max-keys')(flags.maxKeys),
        svcCaps: Object.keys(flags.svcCap as unknown as Record<string, number>).length ? (flags.svcCap as unknown as Record<string, number>) : undefined,
        maxTrackedKeys: integer('--max-tracked-keys')(flags.maxTrackedKeys!),
        maxLeases: integer('--max-leases')(flags.maxLeases!),
        respSocket: flags.respSocket,
        respPort: flags.respPort === undefined ? undefined : integer('--resp-port')(flags.respPort),
        respHost: flags.respHost,
        logLevel: flags.logLevel as LevelWithSilent,
      }
      const server = await serve(options)
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          server.close().then(resolve)
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
    })
}
