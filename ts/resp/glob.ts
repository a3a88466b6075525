// Redis-style glob patterns (KEYS, SCAN MATCH): * ? [abc] [^a] [a-z] and \ escapes.
export function globToRegExp(pattern: string): RegExp {
  let out = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') out += '.*'
    else if (c === '?') out += '.'
    else if (c === '\\' && i + 1 < pattern.length) out += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end < 0) out += '\\['
      else {
        let body = pattern.slice(i + 1, end)
        if (body.startsWith('^')) body = '^' + body.slice(1).replace(/[\]\\]/g, '\\$&')
        else body = body.replace(/[\]\\]/g, '\\$&')
        out += `[${body}]`
        i = end
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(out + '$', 's')
}

/** The literal prefix of a pattern (before its first wildcard), to narrow a scan. */
export function literalPrefix(pattern: string): string {
  const at = pattern.search(/[*?[\\]/)
  return at < 0 ? pattern : pattern.slice(0, at)
}
