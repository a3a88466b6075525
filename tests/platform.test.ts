// Platforms: the daemon needs Unix domain sockets, so on Windows serve() refuses at once with
// a coded error pointing at NativeStore, the embedded store, which works there.
import { describe, expect, it } from 'vitest'
import { LocalCachedError } from '../ts/index'
import { checkDaemonPlatform } from '../ts/server/options'

describe('daemon platforms', () => {
  it('refuses Windows with NotSupported, naming where it runs and what works there', () => {
    let caught: unknown
    try {
      checkDaemonPlatform('win32')
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(LocalCachedError)
    expect((caught as LocalCachedError).code).toBe('NotSupported')
    expect((caught as Error).message).toMatch(/Linux and macOS/)
    expect((caught as Error).message).toMatch(/NativeStore/)
  })

  it('accepts Linux and macOS', () => {
    expect(() => checkDaemonPlatform('linux')).not.toThrow()
    expect(() => checkDaemonPlatform('darwin')).not.toThrow()
  })
})
