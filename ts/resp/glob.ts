// Redis-style glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE): * ? [abc] [^a] [a-z] and \ escapes.
//
// Not compiled to a RegExp: a pattern like `?*?*?*?*?*x` becomes a backtracking regex that is
// exponential in the key length, and `[z-a]` a RegExp that throws. Any client can send such a
// pattern, so the matcher below is the classic two-pointer wildcard match, which backtracks only
// to the last `*` and so runs in O(pattern × text) at worst.

type Token =
  | { kind: 'literal'; char: string }
  | { kind: 'one' }
  | { kind: 'star' }
  | { kind: 'class'; negate: boolean; chars: string; ranges: Array<[string, string]> }

export interface GlobMatcher {
  test(text: string): boolean
}

function parse(pattern: string): Token[] {
  const tokens: Token[] = []
  const chars = Array.from(pattern) // by code point, as keys and channels are compared
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]
    if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' }) // ** is *
    } else if (c === '?') tokens.push({ kind: 'one' })
    else if (c === '\\' && i + 1 < chars.length) tokens.push({ kind: 'literal', char: chars[++i] })
    else if (c === '[') {
      const token = parseClass(chars, i + 1)
      if (token === null) tokens.push({ kind: 'literal', char: '[' }) // never closed: a plain '['
      else {
        tokens.push(token.class)
        i = token.close
      }
    } else tokens.push({ kind: 'literal', char: c })
  }
  return tokens
}

/** A `[...]` class whose body starts at `from`, as Redis reads it; null if no `]` closes it. */
function parseClass(chars: string[], from: number): { class: Token; close: number } | null {
  let j = from
  const negate = chars[j] === '^'
  if (negate) j++
  let members = ''
  const ranges: Array<[string, string]> = []
  for (; j < chars.length; j++) {
    const c = chars[j]
    if (c === ']') return { class: { kind: 'class', negate, chars: members, ranges }, close: j }
    if (c === '\\' && j + 1 < chars.length) members += chars[++j]
    else if (j + 2 < chars.length && chars[j + 1] === '-' && chars[j + 2] !== ']') {
      const [a, b] = [c, chars[j + 2]]
      ranges.push(a <= b ? [a, b] : [b, a]) // Redis accepts a reversed range
      j += 2
    } else members += c
  }
  return null
}

function matchesOne(token: Token, c: string): boolean {
  switch (token.kind) {
    case 'literal':
      return token.char === c
    case 'one':
      return true
    case 'class': {
      const inside = token.chars.includes(c) || token.ranges.some(([a, b]) => c >= a && c <= b)
      return inside !== token.negate
    }
    default:
      return false
  }
}

export function compileGlob(pattern: string): GlobMatcher {
  const tokens = parse(pattern)
  // Each non-star token takes exactly one character, so a text shorter than their count can
  // never match: this also bounds the work for a huge pattern against our short keys.
  const minLength = tokens.filter((t) => t.kind !== 'star').length
  return {
    test(text: string): boolean {
      if (text.length < minLength) return false // .length counts UTF-16 units, ≥ code points
      const chars = Array.from(text)
      let p = 0
      let t = 0
      let starP = -1
      let starT = 0
      while (t < chars.length) {
        if (p < tokens.length && tokens[p].kind === 'star') {
          starP = p++
          starT = t
        } else if (p < tokens.length && matchesOne(tokens[p], chars[t])) {
          p++
          t++
        } else if (starP >= 0) {
          // Let the last star swallow one more character and retry from there.
          p = starP + 1
          t = ++starT
        } else return false
      }
      while (p < tokens.length && tokens[p].kind === 'star') p++
      return p === tokens.length
    },
  }
}

/** The literal prefix of a pattern (before its first wildcard), to narrow a scan. */
export function literalPrefix(pattern: string): string {
  const at = pattern.search(/[*?[\\]/)
  return at < 0 ? pattern : pattern.slice(0, at)
}
