// Secrets never reach a log line: passwords (any option whose name says password, secret or
// token) and the credentials inside URLs (redis://user:pass@host) are shown as ***.

const SECRET_NAME = /password|secret|token/i
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#\s]*)@/i

export const REDACTED = '***'

function redactUrl(text: string): string {
  return text.replace(URL_CREDENTIALS, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':')
    // user:pass keeps the user (useful, not secret); a lone userinfo may be a token.
    return `${scheme}${colon > 0 ? `${userinfo.slice(0, colon)}:${REDACTED}` : REDACTED}@`
  })
}

/** A copy of `value` with every secret replaced by ***; `name` is the field it sits in. */
export function redactSecrets<T>(value: T, name = ''): T {
  if (value === undefined || value === null) return value
  if (SECRET_NAME.test(name)) return REDACTED as T
  if (typeof value === 'string') return redactUrl(value) as T
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, name)) as T
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)])) as T
  }
  return value
}
