// The daemon's start-up line: where it listens and the options that differ from the defaults,
// with secrets redacted and sizes as people write them, so it stays short enough to read.

import { redactSecrets } from './redact'
import { formatSize } from './size'
import { resolveOptions, type ResolvedServeOptions } from './options'
import { redactBridgeUrl } from '../bridge/transport'

/** Shown on every start, default or not: where to connect and the budget. */
const ALWAYS = new Set(['socket', 'respSocket', 'respPort', 'respHost', 'respPassword', 'metricsPort', 'metricsHost', 'maxBytes', 'publishDefault', 'shards'])

function readable(name: string, value: unknown): unknown {
  if (typeof value === 'number' && /Bytes$/.test(name)) return formatSize(value)
  if (name === 'socketMode' && typeof value === 'number') return value.toString(8).padStart(4, '0')
  if (name === 'bridge' && value) return { ...(value as { url: string }), url: redactBridgeUrl((value as { url: string }).url) }
  if (name === 'svcCaps' && value) return Object.fromEntries(Object.entries(value as Record<string, number>).map(([k, v]) => [k, formatSize(v)]))
  return value
}

export function startLogFields(resolved: ResolvedServeOptions, bound: { respPort: number | undefined; metricsPort?: number; shards: number; version: string }): Record<string, unknown> {
  const defaults = resolveOptions({ socket: '/' }, {}) as unknown as Record<string, unknown>
  const changed: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(resolved)) {
    if (ALWAYS.has(name) || value === undefined) continue
    if (JSON.stringify(value) !== JSON.stringify(defaults[name])) changed[name] = readable(name, value)
  }
  const fields: Record<string, unknown> = {
    version: bound.version,
    socket: resolved.socket,
    maxBytes: resolved.maxBytes,
    publishDefault: resolved.publishDefault,
    shards: bound.shards,
  }
  if (resolved.respSocket !== undefined) fields.respSocket = resolved.respSocket
  if (resolved.respPort !== undefined) fields.resp = `${resolved.respHost}:${bound.respPort}`
  if (bound.metricsPort !== undefined) fields.metrics = `http://${hostForUrl(resolved.metricsHost)}:${bound.metricsPort}/metrics`
  if (resolved.respPassword !== undefined) fields.respPassword = resolved.respPassword
  else if (resolved.respSocket !== undefined || resolved.respPort !== undefined) fields.respAuth = 'none'
  if (Object.keys(changed).length) fields.options = changed
  return redactSecrets(fields)
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
