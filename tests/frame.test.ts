import { describe, expect, it } from 'vitest'
import { FrameDecoder, encodeFrame } from '../ts/protocol/frame'
import { LocalCachedError } from '../ts/errors'

describe('frame decoder', () => {
  const frames = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(3000, 7), Buffer.from('x')]
  const stream = Buffer.concat(frames.map(encodeFrame))
  const hex = (list: Buffer[]) => list.map((b) => b.toString('hex'))

  it('reads every frame whatever the byte boundaries of the chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder(1 << 20)
      const got: Buffer[] = []
      for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
        decoder.push(part)
        for (let f = decoder.tryRead(); f; f = decoder.tryRead()) got.push(Buffer.from(f))
      }
      expect(hex(got), `cut at ${cut}`).toEqual(hex(frames))
      expect(decoder.bufferedBytes).toBe(0)
    }
  })

  it('reads frames fed one byte at a time', () => {
    const decoder = new FrameDecoder(1 << 20)
    const got: Buffer[] = []
    for (const byte of stream) {
      decoder.push(Buffer.from([byte]))
      for (let f = decoder.tryRead(); f; f = decoder.tryRead()) got.push(Buffer.from(f))
    }
    expect(hex(got)).toEqual(hex(frames))
  })

  it('rejects a declared length over the limit as soon as the header arrives', () => {
    const decoder = new FrameDecoder(100)
    decoder.push(Buffer.from([0, 0, 0, 101]))
    let err: unknown
    try {
      decoder.tryRead()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(LocalCachedError)
    expect((err as LocalCachedError).code).toBe('FrameTooLarge')
    const ok = new FrameDecoder(100)
    ok.push(encodeFrame(Buffer.alloc(100)))
    expect(ok.tryRead()?.length).toBe(100)
  })
})
