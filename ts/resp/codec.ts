// RESP2, apart from any transport: a parser that buffers chunks and yields whole commands
// (arrays of bulk strings, or inline commands as typed into nc), and reply encoders.

import { RESP_MAX_INLINE_BYTES } from '../limits'

export class RespProtocolError extends Error {}

/** A plain GET or SET, read without building argument Buffers (see tryReadHot). */
export type HotCommand = { name: 'GET'; key: string; value: undefined } | { name: 'SET'; key: string; value: Buffer }

const CRLF = Buffer.from('\r\n')

export class RespParser {
  #buf: Buffer = Buffer.alloc(0)
  #offset = 0
  readonly #maxBulkBytes: number
  readonly #maxArgs: number

  constructor(maxBulkBytes: number, maxArgs = 1024 * 1024) {
    this.#maxBulkBytes = maxBulkBytes
    this.#maxArgs = maxArgs
  }

  push(chunk: Buffer): void {
    const rest = this.#buf.subarray(this.#offset)
    this.#buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk])
    this.#offset = 0
  }

  /** The next whole command, or null until it has arrived. Throws RespProtocolError. */
  tryRead(): Buffer[] | null {
    if (this.#offset >= this.#buf.length) return null
    const start = this.#offset
    const result = this.#buf[start] === 0x2a /* '*' */ ? this.#readArray(start) : this.#readInline(start)
    if (result === null) return null
    this.#offset = result.end
    return result.args
  }

  /**
   * The next command if it is exactly `GET key` or `SET key value` (arrays of bulk strings, the
   * name in any case), consumed, with the key as a string; undefined, consuming nothing, for
   * anything else or anything incomplete, which tryRead then handles. A cache's hottest
   * commands skip the argument Buffers and the name string: GET -P 16 went from 0.37–0.50× to
   * 0.55–0.67× redis-server (bench:resp).
   */
  tryReadHot(): HotCommand | undefined {
    const buf = this.#buf
    const kind = this.#hotAt(this.#offset)
    if (kind === 0) return undefined
    const key = this.#hotKey
    if (kind === 1) {
      this.#offset = key.end
      return { name: 'GET', key: buf.toString('utf8', key.start, key.end - 2), value: undefined }
    }
    const value = this.#hotValue
    this.#offset = value.end
    return { name: 'SET', key: buf.toString('utf8', key.start, key.end - 2), value: buf.subarray(value.start, value.end - 2) }
  }

  /** The bytes the spans of scanHotRun index. */
  get source(): Buffer {
    return this.#buf
  }

  /**
   * Scans the commands from the next one on while each is a plain GET (or, when the first is
   * a SET, a plain SET) as tryReadHot reads them, at most `max`, consuming nothing: writes
   * each one's spans at `spans[i * width..]` as offsets in `source` (the key's start and end,
   * and for a SET the value's; width 2 for GET, 4 for SET) and the offset after it at
   * `ends[i]`. Returns how many it found; `hotRunIsSet` says which kind. With `setRuns`
   * false (the door runs SETs one by one) a SET is scanned alone, so the single path that
   * takes it does not pay for a scan of the SETs behind it.
   */
  scanHotRun(spans: Int32Array, ends: Int32Array, max: number, setRuns = true): number {
    let at = this.#offset
    let n = 0
    while (n < max) {
      const kind = this.#hotAt(at)
      if (kind === 0 || (n > 0 && (kind === 2) !== this.hotRunIsSet)) break
      if (n === 0) {
        this.hotRunIsSet = kind === 2
        if (kind === 2 && !setRuns) max = 1
      }
      const key = this.#hotKey
      const s = kind === 2 ? 4 * n : 2 * n
      spans[s] = key.start
      spans[s + 1] = key.end - 2
      if (kind === 2) {
        spans[s + 2] = this.#hotValue.start
        spans[s + 3] = this.#hotValue.end - 2
        at = this.#hotValue.end
      } else at = key.end
      ends[n++] = at
    }
    return n
  }

  /** Whether the run scanHotRun found last is of SETs (else GETs). */
  hotRunIsSet = false

  /** Consumes the commands before `end` (an offset scanHotRun returned). */
  consumeTo(end: number): void {
    this.#offset = end
  }

  #hotKey: { start: number; end: number } = { start: 0, end: 0 }
  #hotValue: { start: number; end: number } = { start: 0, end: 0 }

  /** 1 for a plain GET at `at`, 2 for a plain SET (its bulks in #hotKey, #hotValue), 0 for anything else. */
  #hotAt(at: number): number {
    const buf = this.#buf
    if (buf.length - at < 16 || buf[at] !== 0x2a || buf[at + 2] !== 0x0d || buf[at + 3] !== 0x0a) return 0
    const argc = buf[at + 1] - 0x30
    if (argc !== 2 && argc !== 3) return 0
    if (buf[at + 4] !== 0x24 || buf[at + 5] !== 0x33 || buf[at + 6] !== 0x0d || buf[at + 7] !== 0x0a) return 0
    const first = buf[at + 8] & 0xdf
    if ((buf[at + 9] & 0xdf) !== 0x45 || (buf[at + 10] & 0xdf) !== 0x54 || buf[at + 11] !== 0x0d || buf[at + 12] !== 0x0a) return 0
    const isGet = first === 0x47 && argc === 2
    const isSet = first === 0x53 && argc === 3
    if (!isGet && !isSet) return 0
    const key = this.#bulkAt(at + 13)
    if (key === undefined) return 0
    this.#hotKey = key
    if (isGet) return 1
    const value = this.#bulkAt(key.end)
    if (value === undefined) return 0
    this.#hotValue = value
    return 2
  }

  /** A complete, well-formed bulk string at `at`: where its bytes start, and the end after its CRLF. */
  #bulkAt(at: number): { start: number; end: number } | undefined {
    const buf = this.#buf
    if (buf[at] !== 0x24) return undefined
    let size = 0
    let i = at + 1
    for (; i < buf.length && i < at + 12; i++) {
      const c = buf[i]
      if (c < 0x30 || c > 0x39) break
      size = size * 10 + (c - 0x30)
    }
    if (i === at + 1 || buf[i] !== 0x0d || buf[i + 1] !== 0x0a || size > this.#maxBulkBytes) return undefined
    const start = i + 2
    const end = start + size + 2
    if (end > buf.length || buf[end - 2] !== 0x0d || buf[end - 1] !== 0x0a) return undefined
    return { start, end }
  }

  #line(from: number): { text: string; next: number } | null {
    const at = this.#buf.indexOf(CRLF, from)
    if (at < 0) {
      if (this.#buf.length - from > RESP_MAX_INLINE_BYTES) throw new RespProtocolError('too big inline request')
      return null
    }
    return { text: this.#buf.toString('latin1', from, at), next: at + 2 }
  }

  /**
   * A length line (`*<n>` or `$<n>` after its type byte) read from the bytes, without making a
   * string: NaN unless it is an optional '-' and 1–18 digits ending in CRLF. null: incomplete.
   */
  #length(from: number): { value: number; next: number } | null {
    const buf = this.#buf
    let i = from
    let negative = false
    if (buf[i] === 0x2d) {
      negative = true
      i++
    }
    let value = 0
    const start = i
    for (; i < buf.length && i - start <= 18; i++) {
      const c = buf[i]
      if (c < 0x30 || c > 0x39) break
      value = value * 10 + (c - 0x30)
    }
    if (i >= buf.length || (buf[i] === 0x0d && i + 1 >= buf.length)) {
      if (buf.length - from > RESP_MAX_INLINE_BYTES) throw new RespProtocolError('too big inline request')
      return null
    }
    if (i === start || buf[i] !== 0x0d || buf[i + 1] !== 0x0a) {
      // Not plain digits: let the line reader find its end, and report it invalid.
      const line = this.#line(from)
      return line === null ? null : { value: Number.NaN, next: line.next }
    }
    return { value: negative ? -value : value, next: i + 2 }
  }

  #readArray(start: number): { args: Buffer[]; end: number } | null {
    const header = this.#length(start + 1)
    if (!header) return null
    const count = header.value
    if (!Number.isInteger(count) || count > this.#maxArgs) throw new RespProtocolError('invalid multibulk length')
    const args: Buffer[] = []
    let at = header.next
    for (let i = 0; i < count; i++) {
      if (at >= this.#buf.length) return null
      if (this.#buf[at] !== 0x24 /* '$' */) throw new RespProtocolError(`expected '$', got '${String.fromCharCode(this.#buf[at])}'`)
      const len = this.#length(at + 1)
      if (!len) return null
      const size = len.value
      if (!Number.isInteger(size) || size < 0 || size > this.#maxBulkBytes) throw new RespProtocolError('invalid bulk length')
      if (this.#buf.length < len.next + size + 2) return null
      if (this.#buf[len.next + size] !== 0x0d || this.#buf[len.next + size + 1] !== 0x0a) throw new RespProtocolError('bulk string not terminated by CRLF')
      args.push(this.#buf.subarray(len.next, len.next + size))
      at = len.next + size + 2
    }
    return { args, end: at }
  }

  #readInline(start: number): { args: Buffer[]; end: number } | null {
    const at = this.#buf.indexOf(0x0a, start)
    if (at < 0) {
      if (this.#buf.length - start > RESP_MAX_INLINE_BYTES) throw new RespProtocolError('too big inline request')
      return null
    }
    const line = this.#buf.toString('utf8', start, at).replace(/\r$/, '')
    const args = line.split(/\s+/).filter((a) => a.length > 0).map((a) => Buffer.from(a))
    return { args, end: at + 1 }
  }
}

export const reply = {
  ok: Buffer.from('+OK\r\n'),
  pong: Buffer.from('+PONG\r\n'),
  nil: Buffer.from('$-1\r\n'),
  emptyArray: Buffer.from('*0\r\n'),
  simple: (text: string) => Buffer.from(`+${text}\r\n`),
  error: (text: string) => Buffer.from(`-${text.replace(/[\r\n]+/g, ' ')}\r\n`),
  integer: (n: number | bigint | string) => Buffer.from(`:${n}\r\n`),
  bulk(value: Buffer | string | null | undefined): Buffer {
    if (value === null || value === undefined) return reply.nil
    const bytes = typeof value === 'string' ? Buffer.from(value) : value
    // One allocation: header, bytes and CRLF written in place.
    const header = `$${bytes.length}\r\n`
    const out = Buffer.allocUnsafe(header.length + bytes.length + 2)
    out.write(header, 0, 'latin1')
    bytes.copy(out, header.length)
    out[out.length - 2] = 0x0d
    out[out.length - 1] = 0x0a
    return out
  },
  array(items: Buffer[]): Buffer {
    return Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items])
  },
}
