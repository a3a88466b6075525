// The one interface an engine implements to carry the bridge (one file per engine): publish
// batches in order, deliver everything published after start() in order, and say when the
// read position was lost (trimmed, a restarted server, a recreated stream).

import { LocalCachedError } from '../errors'
import { redactSecrets } from '../server/redact'
import type { RawMessage } from './message'

export interface TransportSink {
  /** Messages in the engine's order; called again only after this returns. */
  messages(batch: readonly RawMessage[]): void
  /**
   * The engine no longer holds the read position: messages may have been lost. Called after
   * the transport has moved its position to the engine's current end, so that whatever the
   * receiver does now (flush) covers everything before the new position.
   */
  positionLost(why: string): void
  /** Something went wrong that the transport retries by itself (a log line, not a failure). */
  trouble(what: string, err: unknown): void
}

export interface OutgoingMessage {
  hostId: string
  body: string
}

export interface BridgeTransport {
  /** 'redis' or 'nats', for logs and INFO. */
  readonly engine: string
  /**
   * Connects and sets the read position; resolves once everything published after it will be
   * delivered. The position is the engine's end, or `resumeFrom` (a position() of an earlier
   * run, from a snapshot) when the engine still holds everything after it; else it resolves to
   * why not, and starts from the end.
   */
  start(sink: TransportSink, resumeFrom?: string): Promise<string | undefined>
  /** Resolves once the read position has reached the engine's end as it was at start(). */
  caughtUp(): Promise<void>
  /** Appends the messages in order, pipelined; resolves when the engine has all of them. Rejects on failure (the caller retries). */
  publish(batch: readonly OutgoingMessage[]): Promise<void>
  /** Checks that the engine still holds the read position (else calls sink.positionLost). */
  checkPosition(): Promise<void>
  /** The engine's read position, opaque: what a snapshot can record and resume from. */
  position(): string
  close(): Promise<void>
}

export interface TransportOptions {
  url: string
  /** --bridge-name: the stream (subject space) every host of one cache shares. */
  name: string
  /** --bridge-retention: entries the engine keeps. */
  retention: number
  /**
   * The longest wait between reconnection attempts: a host must be back within about a
   * heartbeat of the engine, for staleness to stay within outage + 3 heartbeats.
   */
  reconnectMaxMs: number
}

/** The URL with credentials shown as *** (every server of a comma-separated list). */
export function redactBridgeUrl(url: string): string {
  return url.split(',').map((part) => redactSecrets(part.trim())).join(',')
}

/** The transport for the URL's scheme. */
export async function createTransport(options: TransportOptions): Promise<BridgeTransport> {
  const scheme = /^([a-z+]+):\/\//i.exec(options.url)?.[1]?.toLowerCase()
  switch (scheme) {
    case 'redis':
    case 'rediss':
    case 'redis+unix': {
      const { RedisStreamTransport } = await import('./redis-transport')
      return new RedisStreamTransport(options)
    }
    case 'nats':
    case 'tls': {
      const { NatsJetStreamTransport } = await import('./nats-transport')
      return new NatsJetStreamTransport(options)
    }
    default:
      throw new LocalCachedError('BadArgument', `--bridge ${redactBridgeUrl(options.url)}: the URL must start with redis://, rediss://, redis+unix://, nats:// or tls://`)
  }
}
