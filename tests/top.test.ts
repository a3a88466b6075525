// `localcached-native top`: plain lines on a pipe, and the full screen in a real terminal
// (tmux), where q and Ctrl-C quit and give the terminal back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bar, renderLine, renderScreen, type Sample } from '../ts/cli/top-view'
import type { Stats } from '../ts/stats'
import { eventually, key, requireTool, ROOT, runNode, startDaemon, type TestDaemon } from './helpers'

const CLI = join(ROOT, 'dist/cjs/cli.js')
const tmux = requireTool('tmux')

let daemon: TestDaemon
let traffic: NodeJS.Timeout
beforeAll(async () => {
  daemon = await startDaemon({ maxKeys: 1000 })
  await daemon.client.put(key(1), Buffer.from('v'))
  // Steady gets, so every refresh has a rate to show.
  traffic = setInterval(() => {
    daemon.client.get(key(1)).catch(() => {})
    daemon.client.get(key(2)).catch(() => {})
  }, 5)
})
afterAll(async () => {
  clearInterval(traffic)
  await daemon.close()
})

function sample(stats: Partial<Stats>, atMs: number): Sample {
  const base = { getCalls: 0, getHits: 0, getMisses: 0, putCalls: 0, delCalls: 0, invalidateCalls: 0, tableChangedUpsertCalls: 0, evictions: 0, expiredRemovals: 0, bytesCurrent: 0, bytesMax: 1000, itemsCurrent: 0, maxKeys: 0, subscribersCurrent: 0, eventsPublished: 0, laggedNotices: 0, hitRate: 0, bySvc: {} }
  return { stats: { ...base, ...stats } as Stats, atMs }
}

describe('top: what it shows', () => {
  it('computes rates from the difference of two samples, and fills the bar to the budget', () => {
    const prev = sample({ getCalls: 100, getHits: 50, evictions: 10 }, 0)
    const cur = sample({ getCalls: 300, getHits: 200, evictions: 30, bytesCurrent: 250, itemsCurrent: 7 }, 2000)
    const screen = renderScreen(prev, cur, 'header', 100).join('\n')
    expect(screen).toContain('get 100')
    expect(screen).toContain('hit rate  75.0%')
    expect(screen).toContain(`bytes     ${bar(250, 1000, 50)}`)
    expect(bar(250, 1000, 20)).toBe('[#####...............]')
    expect(screen).toContain('evictions 10/s')
    expect(renderLine(prev, cur, new Date(0))).toMatch(/^1970-01-01T00:00:00\.000Z get\/s=100 put\/s=0 .* hit=75\.0% items=7 bytes=250 limit_bytes=1000 evictions\/s=10 /)
    expect(renderScreen(undefined, cur, 'h', 100).join('\n')).toContain('get -')
  })

  it('shows the bridge: off without one; else its link, applied rate, lag, outbox, gaps and flushes', () => {
    expect(renderScreen(undefined, sample({}, 0), 'h', 200)).toContain('bridge    off')
    expect(renderLine(undefined, sample({}, 0), new Date(0))).toContain(' bridge=off ')
    const bridged = { bridgeConnected: 1, bridgePublished: 40, bridgeReceived: 80, bridgeLagMsP99: 7, bridgeOutboxCurrent: 3, bridgeGaps: 1, bridgeFlushes: 2 }
    const prev = sample({ ...bridged, bridgeApplied: 100 }, 0)
    const cur = sample({ ...bridged, bridgeApplied: 400 }, 1000)
    expect(renderScreen(prev, cur, 'h', 200)).toContain('bridge    connected   applied 300/s   lag p99 7 ms   outbox 3   gaps 1   flushes 2')
    expect(renderLine(prev, cur, new Date(0))).toContain(' bridge=connected bridge_lag_p99_ms=7 bridge_gaps=1')
    const cut = sample({ ...bridged, bridgeConnected: 0 }, 2000)
    expect(renderScreen(cur, cut, 'h', 200).join('\n')).toContain('bridge    DISCONNECTED')
  })
})

describe('top: plain lines when stdout is not a terminal', () => {
  it('prints one line per refresh with rates, and stops after --count', async () => {
    const r = await runNode([CLI, 'top', '--socket', daemon.socket, '--interval-ms', '200', '--count', '2'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z get\/s=\d+ put\/s=\d+ .* hit=\d+\.\d% items=1 bytes=\d+ limit_bytes=134217728 .* conns=\d+ /)
    expect(Number(/get\/s=(\d+)/.exec(lines[1])![1])).toBeGreaterThan(0)
  })

  it('SIGINT ends it cleanly (exit 0)', async () => {
    const child = spawn(process.execPath, [CLI, 'top', '--socket', daemon.socket, '--interval-ms', '100'])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    await eventually(() => out.includes('get/s='), 10_000)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('says what is wrong when no daemon listens (exit 1)', async () => {
    const r = await runNode([CLI, 'top', '--socket', '/nonexistent/lc.sock', '--count', '1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^localcached-native: /)
  })

  it('refuses a bad --interval-ms (exit 2)', async () => {
    const r = await runNode([CLI, 'top', '--interval-ms', '0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--interval-ms takes a positive integer')
  })
})

describe.skipIf(tmux.skip)(tmux.title('top in a real terminal (tmux)'), () => {
  // A private tmux server on a socket of our own (-S), removed afterwards; -f /dev/null
  // ignores any user configuration.
  const server = join(tmpdir(), `lc-top-${randomBytes(4).toString('hex')}.tmux`)
  const tmuxRun = (...args: string[]) => spawnSync(tmux.command, ['-S', server, '-f', '/dev/null', ...args], { encoding: 'utf8' })
  const pane = () => tmuxRun('capture-pane', '-p', '-t', 'top').stdout

  afterAll(() => {
    tmuxRun('kill-server')
    rmSync(server, { force: true })
  })

  /**
   * Starts top in a 100×30 terminal; the shell around it prints how top exited and whether the
   * terminal's modes (stty) are as before, then waits.
   */
  function startTop(): void {
    const top = `'${process.execPath}' '${CLI}' top --socket '${daemon.socket}' --interval-ms 250`
    const command = `before=$(stty -g); ${top}; echo "top exited $?"; [ "$(stty -g)" = "$before" ] && echo "tty modes restored"; sleep 60`
    tmuxRun('kill-session', '-t', 'top')
    const r = tmuxRun('new-session', '-d', '-s', 'top', '-x', '100', '-y', '30', command)
    expect(r.status, r.stderr).toBe(0)
  }

  it('draws the live view, refreshes it, and q quits and restores the screen', async () => {
    startTop()
    await eventually(() => /ops\/s +get [1-9]/.test(pane()), 15_000, 100)
    const screen = pane()
    expect(screen).toMatch(/^localcached-native top \d/m)
    expect(screen).toMatch(/^hit rate  \d+\.\d%/m)
    expect(screen).toMatch(/^bytes     \[[#.]+\] \d+\.\d MiB \/ 128\.0 MiB/m)
    expect(screen).toMatch(/^items     \[[#.]+\] 1 \/ 1,000 \(0\.1%\)/m)
    expect(screen).toMatch(/^conns     \d+ open/m)
    expect(screen).toMatch(/^tracking  0 clients/m)
    // It refreshes: the clock in the header moves.
    const clock = /(\d\d:\d\d:\d\d) UTC/.exec(screen)![1]
    await eventually(() => /(\d\d:\d\d:\d\d) UTC/.exec(pane())?.[1] !== clock, 5000, 100)
    tmuxRun('send-keys', '-t', 'top', 'q')
    await eventually(() => pane().includes('top exited 0'), 5000, 50)
    // The alternate screen is gone: the terminal shows what it showed before top.
    expect(pane()).not.toContain('ops/s')
    expect(pane()).toContain('tty modes restored')
    const cursor = tmuxRun('display-message', '-p', '-t', 'top', '#{cursor_flag}').stdout.trim()
    expect(cursor).toBe('1')
  }, 30_000)

  it('Ctrl-C quits cleanly too', async () => {
    startTop()
    await eventually(() => pane().includes('ops/s'), 15_000, 100)
    tmuxRun('send-keys', '-t', 'top', 'C-c')
    await eventually(() => pane().includes('top exited 0'), 5000, 50)
    expect(pane()).not.toContain('ops/s')
    expect(pane()).toContain('tty modes restored')
  }, 30_000)
})
