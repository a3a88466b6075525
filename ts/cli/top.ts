// `localcached-native top`: a live view of the daemon, refreshed every second. On a terminal
// it draws a full screen (alternate screen, plain ANSI escapes) and reads keys raw, so `q`
// quits; otherwise it prints one line per refresh. Either way SIGINT/SIGTERM end it cleanly,
// and the terminal is given back as it was found.

import { InvalidArgumentError, type Command } from 'commander'
import { LocalCachedClient } from '../client/client'
import { PACKAGE_VERSION } from '../version'
import { renderLine, renderScreen, type Sample } from './top-view'
import type { Out } from './client-commands'

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l' // alternate screen, cursor hidden
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l'
const HOME = '\x1b[H'
const CLEAR_LINE_END = '\x1b[K'
const CLEAR_BELOW = '\x1b[J'
const CTRL_C = 0x03

export interface TopOptions {
  socket?: string
  intervalMs: number
  /** Stop after this many refreshes (default: until quit). */
  count?: number
}

function positive(flag: string) {
  return (text: string) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a positive integer, got '${text}'`)
    return n
  }
}

export function registerTop(program: Command, out: Out): void {
  program
    .command('top')
    .description('a live view of the daemon: ops/s, hit rate, bytes and items against the budget, evictions, connections, subscribers, tracking; q quits')
    .option('--socket <path>', 'daemon socket (default: $LOCALCACHED_SOCKET, $XDG_RUNTIME_DIR/localcached.sock, /tmp/localcached-<uid>.sock)')
    .option('--interval-ms <ms>', 'time between refreshes (default: 1000)', positive('--interval-ms'))
    .option('--count <n>', 'stop after n refreshes (default: until q or Ctrl-C)', positive('--count'))
    .action(async (flags: { socket?: string; intervalMs?: number; count?: number }) => {
      await runTop({ socket: flags.socket, intervalMs: flags.intervalMs ?? 1000, count: flags.count }, out)
    })
}

export async function runTop(options: TopOptions, out: Out, stdin: NodeJS.ReadStream = process.stdin): Promise<void> {
  const client = await LocalCachedClient.connect(options.socket)
  const screen = out.isTTY === true
  let wake: () => void = () => {}
  let quit = false
  const stop = () => {
    quit = true
    wake()
  }
  const onKey = (data: Buffer) => {
    if (data.includes(CTRL_C) || data.includes(0x71) || data.includes(0x51)) stop() // Ctrl-C, q, Q
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const rawKeys = screen && stdin.isTTY === true
  if (rawKeys) {
    // Raw mode: keys arrive one by one, and Ctrl-C arrives as a byte, not a signal.
    stdin.setRawMode(true)
    stdin.on('data', onKey)
    stdin.resume()
  }
  if (screen) out.stdout(ENTER_SCREEN)
  try {
    let prev: Sample | undefined
    for (let frame = 0; !quit; frame++) {
      const header = `localcached-native top ${PACKAGE_VERSION} — ${client.socketPath} — ${new Date().toISOString().slice(11, 19)} UTC`
      let cur: Sample | undefined
      let problem: string | undefined
      try {
        cur = { stats: await client.stats({ timeoutMs: Math.max(1000, options.intervalMs) }), atMs: performance.now() }
      } catch (err) {
        problem = `daemon unreachable: ${(err as Error).message}; retrying`
      }
      if (quit) break
      if (screen) {
        const columns = (process.stdout.columns ?? 80) || 80
        const lines = cur ? renderScreen(prev, cur, header, columns) : [header, '', problem!, '', 'q or Ctrl-C quits']
        out.stdout(`${HOME}${lines.join(`${CLEAR_LINE_END}\n`)}${CLEAR_LINE_END}${CLEAR_BELOW}`)
      } else if (cur && prev) {
        // Lines carry rates, so the first comes after one interval.
        out.stdout(`${renderLine(prev, cur, new Date())}\n`)
      } else if (problem) {
        out.stdout(`${new Date().toISOString()} ${problem}\n`)
      }
      prev = cur ?? prev
      const refreshes = screen ? frame + 1 : frame
      if (options.count !== undefined && refreshes >= options.count) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  } finally {
    if (screen) out.stdout(LEAVE_SCREEN)
    if (rawKeys) {
      stdin.off('data', onKey)
      stdin.setRawMode(false)
      stdin.pause()
    }
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await client.close()
  }
}
