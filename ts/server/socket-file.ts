// The socket file's safety: check the path's length before binding, never steal a live
// daemon's socket, remove only a stale socket (never a symlink or another kind of file),
// bind with no window of looser permissions, and remove only our own socket at shutdown.

import { accessSync, chmodSync, constants, lstatSync, statSync, unlinkSync, type Stats } from 'node:fs'
import { connect, type Server } from 'node:net'
import { dirname } from 'node:path'
import { LocalCachedError } from '../errors'

/** sun_path holds 108 bytes on Linux including the terminating NUL (104 on macOS). */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103

export function checkSocketPathLength(path: string): void {
  const bytes = Buffer.byteLength(path)
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new LocalCachedError(
      'BadArgument',
      `socket path is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte Unix limit: ${path}. ` +
        'Choose a shorter path with --socket or $LOCALCACHED_SOCKET (e.g. under $XDG_RUNTIME_DIR or /tmp).',
    )
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** Resolves 'live' if something accepts connections at `path`, 'stale' if nothing listens. */
export function probeSocket(path: string, timeoutMs = 1000): Promise<'live' | 'stale'> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('live') // Accepted but silent: a hung daemon still owns it.
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve('live')
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve('stale')
      else reject(new LocalCachedError('BadArgument', `cannot tell whether ${path} is in use (${err.code}); refusing to start`))
    })
  })
}

export const LISTEN_BACKLOG = 4096

/** Why a socket cannot be created at `path`, told apart: a missing directory or no permission. */
export function cannotCreateSocket(path: string, err: NodeJS.ErrnoException, flag = '--socket'): LocalCachedError {
  const dir = dirname(path)
  if (err.code === 'ENOENT') {
    return new LocalCachedError('CannotListen', `cannot create the socket ${path}: its directory ${dir} does not exist (ENOENT). Create it (mkdir -p ${dir}) or choose another path with ${flag}.`, { cause: err })
  }
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new LocalCachedError('CannotListen', `cannot create the socket ${path}: permission denied on ${dir} (${err.code}); this user may not create files there. Choose a directory it owns with ${flag} (e.g. under $XDG_RUNTIME_DIR or /tmp).`, { cause: err })
  }
  if (err.code === 'ENOTDIR') return new LocalCachedError('CannotListen', `cannot create the socket ${path}: ${dir} is not a directory (ENOTDIR)`, { cause: err })
  return new LocalCachedError('CannotListen', `cannot create the socket ${path}: ${err.message}`, { cause: err })
}

/** Checks before binding, so the error names the directory rather than a bare errno. */
function checkSocketDirectory(path: string, flag: string): void {
  const dir = dirname(path)
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
    accessSync(dir, constants.W_OK | constants.X_OK)
  } catch (err) {
    throw cannotCreateSocket(path, err as NodeJS.ErrnoException, flag)
  }
}

/** Makes `path` free to bind, or throws an actionable error; `flag` names the path's flag in it. */
export async function prepareSocketPath(path: string, flag = '--socket'): Promise<void> {
  checkSocketPathLength(path)
  checkSocketDirectory(path, flag)
  const stat = lstatOrNull(path)
  if (!stat) return
  if (stat.isSymbolicLink()) throw new LocalCachedError('BadArgument', `${path} is a symbolic link; refusing to use it as the socket`)
  if (!stat.isSocket()) throw new LocalCachedError('BadArgument', `${path} exists and is not a socket; refusing to remove it`)
  if ((await probeSocket(path)) === 'live') {
    throw new LocalCachedError('BadArgument', `a daemon is already listening on ${path}; refusing to start a second one`)
  }
  unlinkSync(path)
}

/**
 * Binds with umask 0177, so the socket is born 0600 whatever the process umask, then sets
 * `mode` (which may widen it on purpose). Node binds synchronously inside listen().
 */
export async function listenWithMode(server: Server, path: string, mode: number): Promise<Stats> {
  const previous = process.umask(0o177)
  try {
    // A deep accept backlog: a fleet of services (re)connecting at once must not see EAGAIN.
    // The kernel caps it at net.core.somaxconn.
    server.listen({ path, backlog: LISTEN_BACKLOG })
  } finally {
    process.umask(previous)
  }
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? err : cannotCreateSocket(path, err)))
  })
  chmodSync(path, mode)
  return lstatSync(path)
}

/** Removes the socket file only if it is still the one we bound (same inode). */
export function removeOwnSocket(path: string, bound: Stats): void {
  const now = lstatOrNull(path)
  if (now && now.isSocket() && now.ino === bound.ino && now.dev === bound.dev) unlinkSync(path)
}
