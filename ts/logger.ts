// One pino logger per daemon, created at start-up and handed down as children. Two formats:
// JSON lines for log collectors, and short human lines (pino-pretty, run in-process as a
// stream: a daemon logs little, so a worker-thread transport would buy nothing but a thread,
// and a synchronous stream keeps the last lines before a crash).
import pino, { type Logger, type DestinationStream, type LevelWithSilent } from 'pino'
import type PinoPretty = require('pino-pretty')
import { formatSize } from './server/size'

export type { Logger }
export type LogFormat = 'auto' | 'pretty' | 'json'

/** Fields every line carries that a person reading a terminal does not need. */
const HIDDEN = new Set(['pid', 'hostname', 'name', 'level', 'time', 'msg'])

function compact(name: string, value: unknown): string {
  if (typeof value === 'number' && /Bytes$/.test(name)) return formatSize(value)
  if (typeof value === 'string') return /\s/.test(value) || value === '' ? JSON.stringify(value) : value
  if (value instanceof Object && 'message' in value && typeof (value as { message: unknown }).message === 'string') return JSON.stringify((value as { message: string }).message)
  return JSON.stringify(value)
}

/** `message key=value …`: one short line per record. */
export function prettyMessage(log: Record<string, unknown>): string {
  const fields = Object.entries(log)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${compact(k, v)}`)
  return [String(log.msg ?? ''), ...fields].join(' ')
}

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream, format: LogFormat = 'auto'): Logger {
  // An injected destination is a program reading the lines: it gets JSON.
  if (destination) return pino({ name: 'localcached', level }, destination)
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true)
  if (!pretty) return pino({ name: 'localcached', level }, pino.destination({ dest: 2, sync: true }))
  // Loaded only when used: requiring it costs ~45 ms of start-up that JSON logging need not pay.
  const pinoPretty = require('pino-pretty') as typeof PinoPretty
  const stream = pinoPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    hideObject: true,
    ignore: 'pid,hostname,name',
    messageFormat: (log: Record<string, unknown>) => prettyMessage(log),
  })
  return pino({ name: 'localcached', level }, stream)
}
