// Redis-style glob matching for KEYS, SCAN MATCH and PSUBSCRIBE.
import { describe, expect, it } from 'vitest'
import { compileGlob, literalPrefix } from '../ts/resp/glob'

const cases: Array<[string, string, boolean]> = [
  ['*', '', true],
  ['*', 'shop:orders:1', true],
  ['shop:*', 'shop:orders:1', true],
  ['shop:*', 'blog:posts:1', false],
  ['shop:orders:?', 'shop:orders:1', true],
  ['shop:orders:?', 'shop:orders:12', false],
  ['*:orders:*', 'shop:orders:12', true],
  ['h[ae]llo', 'hallo', true],
  ['h[ae]llo', 'hillo', false],
  ['h[^e]llo', 'hallo', true],
  ['h[^e]llo', 'hello', false],
  ['h[a-b]llo', 'hbllo', true],
  ['h[b-a]llo', 'hbllo', true], // a reversed range, as Redis accepts
  ['h[a-b]llo', 'hcllo', false],
  ['h\\*llo', 'h*llo', true],
  ['h\\*llo', 'hello', false],
  ['h[\\]]llo', 'h]llo', true],
  ['a[bc', 'a[bc', true], // an unclosed class is a literal '['
  ['localcached:*:shop:*', 'localcached:table_changed:shop:orders', true],
  ['localcached:*:shop:*', 'localcached:table_changed:blog:posts', false],
  ['a*b*c', 'aXXbYYc', true],
  ['a*b*c', 'aXXbYY', false],
  ['é?', 'éé', true], // by code point
]

describe('compileGlob', () => {
  it.each(cases)('%s against %s is %s', (pattern, text, expected) => {
    expect(compileGlob(pattern).test(text)).toBe(expected)
  })

  it('matches pathological patterns without exponential backtracking', () => {
    // As a RegExp, /^.?.*.?.*…x$/ takes exponential time on a long non-matching key.
    const pattern = '?*'.repeat(30) + 'x'
    const key = 'a:b:' + 'c'.repeat(240)
    expect(compileGlob(pattern).test(key)).toBe(false)
    expect(compileGlob(pattern).test(key + 'x')).toBe(true)
    expect(compileGlob('*'.repeat(100_000) + 'x').test(key)).toBe(false)
    expect(compileGlob('a'.repeat(1_000_000)).test(key)).toBe(false)
  })

  it('takes the literal prefix before the first wildcard', () => {
    expect(literalPrefix('shop:orders:*')).toBe('shop:orders:')
    expect(literalPrefix('shop:[ab]')).toBe('shop:')
    expect(literalPrefix('plain')).toBe('plain')
  })
})
