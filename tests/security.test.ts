import { afterEach, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { lstatSync } from 'node:fs'
import { serve, type DaemonServer } from '../ts/index'
import { requireRootAndUseradd, runNode, tempSocketPath } from './helpers'

const asRoot = requireRootAndUseradd()
const servers: DaemonServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

const PROBE_USER = 'lcprobe'

function ensureUnprivilegedUser(): void {
  try {
    execFileSync('id', [PROBE_USER], { stdio: 'ignore' })
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PROBE_USER])
  }
}

/** Tries to connect to `socket` as the unprivileged user; resolves 'connected' or the error code. */
function connectAsOtherUser(socket: string): string {
  const script = `require('net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })`
  return execFileSync('runuser', ['-u', PROBE_USER, '--', process.execPath, '-e', script], { encoding: 'utf8' }).trim()
}

describe('socket permissions', () => {
  it('the socket is 0600 whatever the process umask', async () => {
    const previous = process.umask(0)
    try {
      const socket = tempSocketPath()
      servers.push(await serve({ socket, logLevel: 'silent' }))
      expect(lstatSync(socket).mode & 0o777).toBe(0o600)
    } finally {
      process.umask(previous)
    }
  })

  it.skipIf(asRoot.skip)(asRoot.title('another local user cannot connect to the default 0600 socket, and can when --socket-mode widens it'), async () => {
    ensureUnprivilegedUser()
    const closed = tempSocketPath()
    servers.push(await serve({ socket: closed, logLevel: 'silent' }))
    expect(connectAsOtherUser(closed)).toBe('EACCES')
    const open = tempSocketPath()
    servers.push(await serve({ socket: open, logLevel: 'silent', socketMode: 0o666 }))
    expect(connectAsOtherUser(open)).toBe('connected')
  })

  it('refuses a symlink planted at the socket path', async () => {
    const target = tempSocketPath()
    const link = tempSocketPath()
    execFileSync('ln', ['-s', target, link])
    const r = await runNode(['dist/cjs/cli.js', 'serve', '--socket', link, '--log-level', 'silent'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/symbolic link/)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
  })
})
