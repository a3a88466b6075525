// RESP authentication, as Redis's `requirepass` does it for the default user: AUTH [user]
// password, or HELLO … AUTH user password. Until a connection authenticates it may send only
// AUTH, HELLO, QUIT and RESET; everything else gets NOAUTH.

import { createHash, timingSafeEqual } from 'node:crypto'
import { reply } from './codec'

export const ALLOWED_BEFORE_AUTH = new Set(['AUTH', 'HELLO', 'QUIT', 'RESET'])

export const NOAUTH = reply.error('NOAUTH Authentication required.')
export const WRONGPASS = reply.error('WRONGPASS invalid username-password pair or user is disabled.')
export const NO_PASSWORD_CONFIGURED = reply.error(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
)
export const HELLO_NOAUTH = reply.error(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
)

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest()

/** The configured password, kept only as a digest and compared in constant time. */
export class RespPassword {
  readonly #digest: Buffer

  constructor(password: string) {
    this.#digest = sha256(password)
  }

  /** Digests first, so neither the comparison's time nor its failure tells the length. */
  matches(candidate: Buffer): boolean {
    return timingSafeEqual(sha256(candidate), this.#digest)
  }
}

/** Whether `user`/`password` is the default user with the right password. */
function accepts(password: RespPassword | undefined, user: Buffer | undefined, candidate: Buffer): boolean {
  if (user !== undefined && user.toString() !== 'default') return false
  // Without a configured password the default user takes any (Redis's `nopass`).
  return password === undefined || password.matches(candidate)
}

/** AUTH password | AUTH default password. Returns the reply and whether the connection is now authenticated. */
export function authCommand(password: RespPassword | undefined, args: Buffer[]): { out: Buffer; authenticated: boolean } {
  if (args.length !== 2 && args.length !== 3) return { out: reply.error("ERR wrong number of arguments for 'auth' command"), authenticated: false }
  if (password === undefined && args.length === 2) return { out: NO_PASSWORD_CONFIGURED, authenticated: true }
  const ok = args.length === 2 ? accepts(password, undefined, args[1]) : accepts(password, args[1], args[2])
  return ok ? { out: reply.ok, authenticated: true } : { out: WRONGPASS, authenticated: false }
}

/**
 * HELLO's authentication part. Returns an error reply to send instead of HELLO's, or null
 * to go on with HELLO (`authenticated` says the state after it).
 */
export function helloAuth(password: RespPassword | undefined, args: Buffer[], authenticated: boolean): { out: Buffer | null; authenticated: boolean } {
  // Redis refuses an unknown protocol version before it looks at AUTH.
  if (args.length > 1 && args[1].toString() !== '2') return { out: null, authenticated }
  for (let i = 2; i < args.length; i++) {
    const option = args[i].toString().toUpperCase()
    if (option === 'AUTH') {
      if (i + 2 >= args.length) return { out: reply.error('ERR Syntax error in HELLO option \'AUTH\''), authenticated }
      if (!accepts(password, args[i + 1], args[i + 2])) return { out: WRONGPASS, authenticated }
      return { out: null, authenticated: true }
    }
    if (option === 'SETNAME') i++
  }
  return authenticated ? { out: null, authenticated } : { out: HELLO_NOAUTH, authenticated }
}
