// Byte sizes as people write them: 134217728, 128mb, 1gb, 512KB (units are powers of 1024).

import { LocalCachedError } from '../errors'

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }
/** Spellings people reach for, and the unit we take instead, for "did you mean". */
const NEAR_UNITS: Record<string, string> = { k: 'kb', m: 'mb', g: 'gb', kib: 'kb', mib: 'mb', gib: 'gb', t: '', tb: '', tib: '' }

const ACCEPTED = 'a byte count like 134217728, 128mb or 1gb (units b, kb, mb, gb; powers of 1024)'

/** Parses `134217728`, `128mb`, `1gb`, `512KB`; `name` says what the size is for in errors. */
export function parseSize(text: string | number, name = 'size'): number {
  if (typeof text === 'number') return positiveSize(text, name, String(text))
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match?.[2].toLowerCase()
  if (!match || unit === undefined || !(unit in SIZE_UNITS)) {
    const near = unit !== undefined && unit in NEAR_UNITS ? NEAR_UNITS[unit] : undefined
    const hint = near ? ` (did you mean ${match![1]}${near}?)` : near === '' ? ' (at most gb)' : ''
    throw new LocalCachedError('BadArgument', `${name} takes ${ACCEPTED}, got '${text}'${hint}`)
  }
  return positiveSize(Math.floor(Number(match[1]) * SIZE_UNITS[unit]), name, text)
}

function positiveSize(value: number, name: string, text: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new LocalCachedError('BadArgument', `${name} takes ${ACCEPTED} of at least 1 byte, got '${text}'`)
  return value
}

/** 134217728 → '128mb', 1500 → '1500' (exact only: a log must not round a limit). */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['gb', 1024 ** 3], ['mb', 1024 ** 2], ['kb', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`
  }
  return String(bytes)
}
