// The one table of the daemon's options. It drives the `serve` command's flags (and their
// parsers), serve()'s check of its options object, and the README's flag table, so the three
// cannot drift apart. serve() takes each flag as a flat camelCase option.

import { LocalCachedError } from '../errors'
import { DEFAULT_MAX_LEASES, DEFAULT_MAX_TRACKED_KEYS } from '../limits'
import { check, checkOptions, type OptionCheck, type OptionSpec } from '../option-check'
import { parseSize } from './size'
import { BRIDGE_OFFLINE_POLICIES } from '../bridge/bridge'
import { L2_WRITE_MODES } from '../l2/write-mode'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const

export interface ServeOptionDef {
  /** The serve() option. */
  name: string
  /** The `serve` flag with its value placeholder; absent for options only serve() takes. */
  flag?: string
  /** A second flag that turns the option off (`--no-socket`), with its description. */
  negate?: { flag: string; description: string }
  /** The default, as written in help and the README; '' for none. */
  default: string
  description: string
  /** The flag's text to the option's value; throws BadArgument saying what is accepted. */
  fromFlag?: (text: string, previous: unknown) => unknown
  /** Checks (and normalises) the value given to serve(). */
  check: OptionCheck
  repeatable?: boolean
  /** More for the README's table than --help has room for (markdown). */
  readme?: string
}

function usage(message: string): LocalCachedError {
  return new LocalCachedError('BadArgument', message)
}

const size = (flag: string) => ({
  fromFlag: (text: string) => parseSize(text, flag),
  check: ((value, name, where) => {
    if (typeof value !== 'number' && typeof value !== 'string') throw usage(`${where}: ${name} must be a byte count (a number, or a string like '128mb'), got ${typeof value}`)
    return parseSize(value, name)
  }) as OptionCheck,
})

const integer = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER, what = '') => {
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`
  return {
    fromFlag: (text: string) => {
      const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN
      if (!Number.isSafeInteger(n) || n < min || n > max) throw usage(`${flag} takes ${range}${what}, got '${text}'`)
      return n
    },
    check: check.integer(min, max),
  }
}

function onOff(flag: string, text: string): boolean {
  if (text === 'on' || text === 'true') return true
  if (text === 'off' || text === 'false') return false
  throw usage(`${flag} takes on or off, got '${text}'`)
}

function octalMode(flag: string, text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw usage(`${flag} takes an octal file mode like 0600 or 0660, got '${text}'`)
  return parseInt(text, 8)
}

function choice(flag: string, choices: readonly string[]) {
  return {
    fromFlag: (text: string) => {
      if (!choices.includes(text)) throw usage(`${flag} takes one of ${choices.join(', ')}, got '${text}'`)
      return text
    },
    check: check.oneOf(choices),
  }
}

/** A bridge name is a Redis key part and a NATS subject token. */
const bridgeName = (flag: string) => {
  const valid = (value: string, label = flag) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw usage(`${label} takes 1 to 64 of A-Z a-z 0-9 _ -, got '${value}'`)
    return value
  }
  return { fromFlag: (value: string) => valid(value), check: ((value, name, where) => valid(check.string(value, name, where) as string, `${where}: ${name}`)) as OptionCheck }
}

const text = (flag: string) => ({
  fromFlag: (value: string) => {
    if (value === '') throw usage(`${flag} takes a non-empty value`)
    return value
  },
  check: check.string,
})

export const SERVE_OPTIONS: readonly ServeOptionDef[] = [
  {
    name: 'socket', readme: 'the client and the CLI resolve the default the same way',
    flag: '--socket <path>',
    negate: { flag: '--no-socket', description: 'no native socket: serve RESP only (needs --resp-socket or --resp-port)' },
    default: '$LOCALCACHED_SOCKET, $XDG_RUNTIME_DIR/localcached.sock or /tmp/localcached-<uid>.sock',
    description: 'Unix socket path of the native protocol',
    fromFlag: text('--socket').fromFlag,
    check: (value, name, where) => (value === false ? false : check.string(value, name, where)),
  },
  { name: 'maxBytes', flag: '--max-bytes <size>', default: '128mb', description: 'byte budget of the store (kb/mb/gb are powers of 1024)', ...size('--max-bytes') },
  {
    name: 'publishDefault',
    flag: '--publish-default <on|off>',
    default: 'on',
    description: 'whether writes publish events unless they say otherwise',
    fromFlag: (value) => onOff('--publish-default', value),
    check: (value, name, where) => (typeof value === 'string' ? onOff(name, value) : check.boolean(value, name, where)),
  },
  {
    name: 'publishWrites',
    readme: 'lets processes that cache from events drop what another process overwrote; the near cache needs no events and is the better way (docs/near-cache.md)',
    flag: '--publish-writes <on|off>',
    default: 'off',
    description: "writes that publish also publish invalidate{cause:'write'} for each key they change",
    fromFlag: (value) => onOff('--publish-writes', value),
    check: (value, name, where) => (typeof value === 'string' ? onOff(name, value) : check.boolean(value, name, where)),
  },
  { name: 'shards', flag: '--shards <n>', default: '4 × cores', description: 'store shards, rounded up to a power of two', ...integer('--shards', 1) },
  { name: 'maxValueBytes', flag: '--max-value-bytes <size>', default: '1mb', description: 'largest value accepted', ...size('--max-value-bytes') },
  { name: 'maxFrameBytes', readme: 'larger gets `FrameTooLarge` and the connection is closed', flag: '--max-frame-bytes <size>', default: 'max value + 64kb', description: 'largest frame accepted', ...size('--max-frame-bytes') },
  { name: 'maxKeys', flag: '--max-keys <n>', default: 'no limit', description: 'at most this many entries (SIEVE eviction past it)', ...integer('--max-keys', 1) },
  {
    name: 'svcCaps',
    flag: '--svc-cap <svc=size>',
    default: '',
    description: 'byte cap of one service, e.g. orders=64mb (repeatable)',
    repeatable: true,
    fromFlag: (value, previous) => {
      const at = value.indexOf('=')
      if (at <= 0) throw usage(`--svc-cap takes svc=size, like orders=64mb, got '${value}'`)
      return { ...(previous as Record<string, number> | undefined), [value.slice(0, at)]: parseSize(value.slice(at + 1), `--svc-cap ${value.slice(0, at)}`) }
    },
    check: (value, name, where) => {
      const caps = check.object(value, name, where) as Record<string, unknown>
      return Object.fromEntries(Object.entries(caps).map(([svc, cap]) => [svc, size('').check(cap, `${name}.${svc}`, where)]))
    },
  },
  { name: 'subscriberQueue', readme: 'past it the subscriber gets `lagged`', flag: '--subscriber-queue <events>', default: '1024', description: "each subscriber's bounded event queue", ...integer('--subscriber-queue', 1) },
  { name: 'heartbeatMs', flag: '--heartbeat-ms <ms>', default: '1000', description: 'heartbeat interval for subscribers', ...integer('--heartbeat-ms', 1) },
  { name: 'shutdownTimeoutMs', flag: '--shutdown-timeout-ms <ms>', default: '5000', description: 'how long shutdown waits for connections', ...integer('--shutdown-timeout-ms', 1) },
  {
    name: 'socketMode', readme: 'widen on purpose, e.g. `0660` for a group of services',
    flag: '--socket-mode <mode>',
    default: '0600',
    description: 'socket file permissions, octal (also of --resp-socket)',
    fromFlag: (value) => octalMode('--socket-mode', value),
    check: (value, name, where) => (typeof value === 'string' ? octalMode(name, value) : check.integer(0, 0o777)(value, name, where)),
  },
  { name: 'sweepIntervalMs', flag: '--sweep-interval-ms <ms>', default: '1000', description: 'how often expired entries are swept (0: never)', ...integer('--sweep-interval-ms', 0) },
  { name: 'maxConnections', flag: '--max-connections <n>', default: '4096', description: 'connections at once; more are refused with LimitExceeded', ...integer('--max-connections', 1) },
  { name: 'maxSubscribers', flag: '--max-subscribers <n>', default: '4096', description: 'subscriptions at once; more are refused with LimitExceeded', ...integer('--max-subscribers', 1) },
  { name: 'maxPendingReplyBytes', readme: 'it resumes once they drain (back-pressure)', flag: '--max-pending-reply-bytes <size>', default: '4mb', description: 'unsent replies per connection past which the daemon stops reading it', ...size('--max-pending-reply-bytes') },
  { name: 'maxTrackedKeys', readme: '+24 bytes per extra holder: 40 MB at the default; see [docs/near-cache.md](docs/near-cache.md)', flag: '--max-tracked-keys <n>', default: String(DEFAULT_MAX_TRACKED_KEYS), description: 'keys remembered for near-cache clients (~160 bytes each); past it the oldest is invalidated', ...integer('--max-tracked-keys', 1) },
  { name: 'maxLeases', flag: '--max-leases <n>', default: String(DEFAULT_MAX_LEASES), description: 'getOrLoad load leases held at once', ...integer('--max-leases', 1) },
  { name: 'respSocket', readme: 'see [docs/resp.md](docs/resp.md); the password covers it too', flag: '--resp-socket <path>', default: '', description: 'also speak RESP (Redis protocol) on this Unix socket', ...text('--resp-socket') },
  { name: 'respPort', readme: 'without a password any local user can reach it (a warning is logged); see [docs/security.md](docs/security.md)', flag: '--resp-port <port>', default: '', description: 'also speak RESP on this TCP port (0: any free port)', ...integer('--resp-port', 0, 65535, ' (0: any free port)') },
  { name: 'respHost', readme: 'a non-loopback address without a password is refused (exit 2)', flag: '--resp-host <host>', default: '127.0.0.1', description: 'address for --resp-port; other than loopback it needs a password', ...text('--resp-host') },
  { name: 'respPassword', readme: 'at most one of `--resp-password`, `--resp-password-file` and `$LOCALCACHED_RESP_PASSWORD` (two: exit 2)', flag: '--resp-password <password>', default: '', description: 'RESP clients must AUTH with this (visible in ps: prefer the file or $LOCALCACHED_RESP_PASSWORD)', ...text('--resp-password') },
  { name: 'respPasswordFile', flag: '--resp-password-file <path>', default: '', description: 'read the RESP password from this file (one line)', ...text('--resp-password-file') },
  { name: 'metricsPort', readme: 'read-only; see [docs/operations.md](docs/operations.md) and [docs/security.md](docs/security.md)', flag: '--metrics-port <port>', default: '', description: 'serve /metrics (Prometheus), /healthz and /readyz over HTTP on this TCP port (0: any free port)', ...integer('--metrics-port', 0, 65535, ' (0: any free port)') },
  { name: 'metricsHost', readme: 'other than loopback, a warning is logged: anyone who reaches it reads the metrics', flag: '--metrics-host <host>', default: '127.0.0.1', description: 'address for --metrics-port', ...text('--metrics-host') },
  { name: 'snapshot', readme: 'see [docs/operations.md](docs/operations.md#warm-restart-snapshots); a corrupt or foreign file is moved aside, never fatal', flag: '--snapshot <file>', default: '', description: 'warm restart: load this file on start; save it on SIGTERM/SIGINT, on a Snapshot request and every --snapshot-interval-ms', ...text('--snapshot') },
  { name: 'snapshotIntervalMs', flag: '--snapshot-interval-ms <ms>', default: 'never', description: 'also save the snapshot this often', ...integer('--snapshot-interval-ms', 1) },
  { name: 'snapshotAfterCrash', readme: 'a file from a clean shutdown is always loaded; one from an interval or requested save means the last process stopped without saving, and it may lack the deletes and invalidations acknowledged after it', flag: '--snapshot-after-crash <drop|load>', default: 'drop', description: 'what to do with a snapshot that the previous process did not write at its shutdown', ...choice('--snapshot-after-crash', ['drop', 'load']) },
  { name: 'snapshotMaxAgeMs', flag: '--snapshot-max-age-ms <ms>', default: 'no limit', description: 'refuse to load a snapshot saved longer ago than this (it is moved aside)', ...integer('--snapshot-max-age-ms', 1) },
  { name: 'bridge', readme: 'see [docs/multi-host.md](docs/multi-host.md); credentials are shown as `***` in logs and errors', flag: '--bridge <url>', default: '', description: 'cross-host invalidation through redis:// rediss:// redis+unix:// (Redis Streams) or nats:// tls:// (JetStream; comma-separated servers)', ...text('--bridge') },
  { name: 'bridgeName', flag: '--bridge-name <name>', default: 'localcached', description: 'hosts with the same bridge name form one cache', ...bridgeName('--bridge-name') },
  { name: 'hostId', flag: '--host-id <id>', default: 'the host name', description: "this daemon's name on the bridge; two daemons with one host id: the younger exits 1", ...text('--host-id') },
  { name: 'bridgeRetention', flag: '--bridge-retention <entries>', default: '1000000', description: 'messages the engine keeps (Redis MAXLEN ~, JetStream max_msgs)', ...integer('--bridge-retention', 1) },
  { name: 'bridgeOutbox', readme: 'an overflow discards it and starts a new epoch: other hosts flush', flag: '--bridge-outbox <changes>', default: '100000', description: 'changes waiting to be sent, at most', ...integer('--bridge-outbox', 1) },
  { name: 'bridgeHeartbeatMs', readme: 'no read for 3 heartbeats means disconnected', flag: '--bridge-heartbeat-ms <ms>', default: '1000', description: 'bridge heartbeat interval', ...integer('--bridge-heartbeat-ms', 1) },
  { name: 'bridgeOriginTimeoutMs', flag: '--bridge-origin-timeout-ms <ms>', default: '30000', description: 'silence from another host without bye that counts as a gap', ...integer('--bridge-origin-timeout-ms', 1) },
  { name: 'bridgeOffline', readme: '`flush-on-reconnect`: keep serving, flush on reconnect unless nothing was missed; `miss`: past --bridge-max-staleness-ms reads miss', flag: '--bridge-offline <policy>', default: 'flush-on-reconnect', description: BRIDGE_OFFLINE_POLICIES.join(' or '), ...choice('--bridge-offline', BRIDGE_OFFLINE_POLICIES) },
  { name: 'bridgeMaxStalenessMs', flag: '--bridge-max-staleness-ms <ms>', default: '5000', description: 'under --bridge-offline miss: time without contact after which reads miss', ...integer('--bridge-max-staleness-ms', 1) },
  { name: 'bridgeIgnoreGaps', default: '', description: 'the coherence checker\'s mutation: gaps are counted but never flushed (never in production)', check: check.boolean },
  { name: 'l2', readme: 'needs `--bridge`; may be the same Redis; see [docs/tiers.md](docs/tiers.md); credentials are shown as `***`', flag: '--l2 <url>', default: '', description: 'a second tier shared by every host, on Redis: redis:// rediss:// redis+unix://', ...text('--l2') },
  { name: 'l2Prefix', flag: '--l2-prefix <prefix>', default: 'lc:<bridge name>:', description: 'the start of every L2 key name', ...text('--l2-prefix') },
  { name: 'l2TimeoutMs', flag: '--l2-timeout-ms <ms>', default: '50', description: 'an L2 command not answered in this time fails (the request falls back to local-only)', ...integer('--l2-timeout-ms', 1) },
  { name: 'l2MaxTtlMs', flag: '--l2-max-ttl-ms <ms>', default: '86400000', description: 'no L2 entry lives longer (its PX), so nothing orphaned lives forever', ...integer('--l2-max-ttl-ms', 1) },
  { name: 'l2BreakerMs', readme: 'it opens after 5 consecutive failures', flag: '--l2-breaker-ms <ms>', default: '5000', description: 'how long L2 is not tried after its breaker opens', ...integer('--l2-breaker-ms', 1) },
  { name: 'l2Write', readme: '`through`: a write is answered once L2 has it; `behind`: answered first (see docs/tiers.md for what that gives up)', flag: '--l2-write <mode>', default: 'through', description: L2_WRITE_MODES.join(' or '), ...choice('--l2-write', L2_WRITE_MODES) },
  { name: 'l2NoDiscard', default: '', description: 'the coherence checker\'s L2 mutation: an L2 fill is kept even when a change of its key arrived first (never in production)', check: check.boolean },
  { name: 'logLevel', readme: 'start-up and shutdown at info, connection errors at debug, nothing per request', flag: '--log-level <level>', default: 'info', description: LOG_LEVELS.join(', '), ...choice('--log-level', LOG_LEVELS) },
  { name: 'logFormat', flag: '--log-format <format>', default: 'auto', description: 'auto (pretty on a terminal, else json), pretty or json', ...choice('--log-format', LOG_FORMATS) },
  { name: 'logDestination', default: '', description: 'where log lines go (a pino destination; JSON)', check: check.object },
  { name: 'logger', default: '', description: 'a ready pino logger, instead of logLevel/logDestination', check: check.object },
]

const SPEC: OptionSpec = Object.fromEntries(SERVE_OPTIONS.map((o) => [o.name, o.check]))

/** serve()'s options checked against the table: unknown names and wrong types are BadArgument. */
export function checkServeOptions<T extends object>(options: T | undefined): T {
  return checkOptions('serve()', options, SPEC)
}

export const README_TABLE_BEGIN = '<!-- serve flags: generated from ts/server/option-table.ts by `npm run generate:readme` -->'
export const README_TABLE_END = '<!-- end of serve flags -->'

/** The README's flag table, rendered from SERVE_OPTIONS. */
export function renderFlagTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|')
  const rows = ['| flag | serve() option | default | what it does |', '|---|---|---|---|']
  for (const o of SERVE_OPTIONS) {
    if (!o.flag) continue
    const what = o.readme ? `${cell(o.description)}; ${o.readme}` : cell(o.description)
    rows.push(`| \`${cell(o.flag)}\` | \`${o.name}\` | ${o.default ? `\`${o.default}\`` : '–'} | ${what} |`)
    if (o.negate) rows.push(`| \`${o.negate.flag}\` | \`${o.name}: false\` | – | ${cell(o.negate.description)} |`)
  }
  return rows.join('\n')
}
