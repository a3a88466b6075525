// The RESP parser: the general path and the GET/SET fast path agree, whatever the byte
// boundaries of the reads.
import { describe, expect, it } from 'vitest'
import { RespParser, RespProtocolError, reply } from '../ts/resp/codec'

const command = (...args: Array<string | Buffer>) =>
  Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.flatMap((a) => [Buffer.from(`$${Buffer.byteLength(a)}\r\n`), Buffer.from(a), Buffer.from('\r\n')])])

/** Reads every whole command the way the listener does: the fast path first, then the general one. */
function drain(parser: RespParser): string[] {
  const out: string[] = []
  for (;;) {
    const hot = parser.tryReadHot()
    if (hot) {
      out.push(`${hot.name} ${hot.key}${hot.value ? ` ${hot.value.toString('utf8')}` : ''}`)
      continue
    }
    const args = parser.tryRead()
    if (args === null) return out
    if (args.length) out.push(args.map((a) => a.toString('utf8')).join(' '))
  }
}

describe('RespParser', () => {
  const stream = Buffer.concat([
    command('GET', 'a:b:c'),
    command('get', 'a:b:ü'),
    command('SET', 'a:b:c', 'v\r\nwith crlf'),
    command('sEt', 'a:b:c', 'x', 'EX', '10'),
    command('GETDEL', 'a:b:c'),
    Buffer.from('PING inline\r\n'),
    command('GET', 'a:b:c', 'extra'),
    command('SET', 'a:b:c', ''),
  ])
  const expected = ['GET a:b:c', 'GET a:b:ü', 'SET a:b:c v\r\nwith crlf', 'sEt a:b:c x EX 10', 'GETDEL a:b:c', 'PING inline', 'GET a:b:c extra', 'SET a:b:c ']

  it('reads GET and SET on the fast path and everything else on the general one', () => {
    const parser = new RespParser(1024)
    parser.push(stream)
    const got = drain(parser)
    expect(got).toEqual(expected)
  })

  it('scans a run of plain GETs or SETs without consuming it, and a SET alone when SETs do not run together', () => {
    const parser = new RespParser(1024)
    parser.push(Buffer.concat([command('SET', 'a:b:1', 'x'), command('SET', 'a:b:2', 'yy'), command('GET', 'a:b:1')]))
    const spans = new Int32Array(16)
    const ends = new Int32Array(4)
    expect(parser.scanHotRun(spans, ends, 4)).toBe(2)
    expect(parser.hotRunIsSet).toBe(true)
    const text = (i: number) => parser.source.subarray(spans[i], spans[i + 1]).toString()
    expect([text(0), text(2), text(4), text(6)]).toEqual(['a:b:1', 'x', 'a:b:2', 'yy'])
    expect(parser.scanHotRun(spans, ends, 4, false)).toBe(1)
    expect(drain(parser)).toEqual(['SET a:b:1 x', 'SET a:b:2 yy', 'GET a:b:1'])
  })

  it('gives the same commands when the bytes arrive split at any offset', () => {
    const whole = (() => {
      const p = new RespParser(1024)
      p.push(stream)
      return drain(p)
    })()
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new RespParser(1024)
      parser.push(stream.subarray(0, cut))
      const got = drain(parser)
      parser.push(stream.subarray(cut))
      got.push(...drain(parser))
      expect(got, `cut at ${cut}`).toEqual(whole)
    }
  })

  it('leaves an oversized bulk to the general path, which refuses it', () => {
    const parser = new RespParser(4)
    parser.push(command('SET', 'a:b:c', 'too long'))
    expect(parser.tryReadHot()).toBeUndefined()
    expect(() => parser.tryRead()).toThrow(RespProtocolError)
  })

  it('refuses length lines that are not plain digits, as Redis does', () => {
    for (const bad of ['*1e1\r\n', '*\r\n', '*1\r\n$ 3\r\nabc\r\n', '*1\r\n$0x3\r\nabc\r\n']) {
      const parser = new RespParser(1024)
      parser.push(Buffer.from(bad))
      expect(() => drain(parser), bad).toThrow(RespProtocolError)
    }
  })

  it('encodes bulk replies in one buffer', () => {
    expect(reply.bulk('hé').toString()).toBe('$3\r\nhé\r\n')
    expect(reply.bulk(Buffer.alloc(0)).toString()).toBe('$0\r\n\r\n')
    expect(reply.bulk(null)).toBe(reply.nil)
  })
})
