// The replies of a run of plain GETs or SETs (Operations.getRun, putRun), written as
// reply.bulk, reply.nil and reply.ok write them one by one, into one Buffer per run: no
// Buffer per value.

import type { RunOutcome } from '../native-store-runs'
import { READ_CODES } from '../native-store'
import { MAX_RUN } from '../server/runs'
import { reply } from './codec'

const NIL = reply.nil
/** MAX_RUN `+OK` replies back to back: a run's replies are a slice of it. */
const OKS = Buffer.concat(Array.from({ length: MAX_RUN }, () => reply.ok))

/** The replies of `done` SETs that stored. */
export function setRunReplies(done: number): Buffer {
  return OKS.subarray(0, done * reply.ok.length)
}

/** The replies of the first `done` GETs of a run, from its outcome and the target their values were copied into. */
export function getRunReplies(run: RunOutcome, target: Buffer, done: number): Buffer {
  const { results, overflow } = run
  let size = 0
  for (let i = 0; i < done; i++) {
    const r = results[i]
    const n = r >= 0 ? r : r === READ_CODES.inOverflow ? overflow[i].length : -1
    size += n < 0 ? NIL.length : bulkBytes(n)
  }
  const out = Buffer.allocUnsafe(size)
  let at = 0
  let from = 0
  for (let i = 0; i < done; i++) {
    const r = results[i]
    if (r >= 0) {
      at = bulkHead(out, at, r)
      target.copy(out, at, from, from + r)
      from += r
      at = crlf(out, at + r)
    } else if (r === READ_CODES.inOverflow) {
      const value = overflow[i]
      at = bulkHead(out, at, value.length)
      value.copy(out, at)
      at = crlf(out, at + value.length)
    } else at += NIL.copy(out, at)
  }
  return out
}

/** `$<n>\r\n`, n bytes and `\r\n`. */
function bulkBytes(n: number): number {
  return 1 + digits(n) + 2 + n + 2
}

function digits(n: number): number {
  let d = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    d++
  }
  return d
}

/** Writes `$<n>\r\n` at `at`; returns where it ends. */
function bulkHead(out: Buffer, at: number, n: number): number {
  out[at] = 0x24
  const d = digits(n)
  for (let i = d; i >= 1; i--) {
    out[at + i] = 0x30 + (n % 10)
    n = Math.floor(n / 10)
  }
  return crlf(out, at + 1 + d)
}

function crlf(out: Buffer, at: number): number {
  out[at] = 0x0d
  out[at + 1] = 0x0a
  return at + 2
}
