// `localcached-native serve`: the daemon, with every option of the option table as a flag,
// and shutdown on SIGINT/SIGTERM.
import { InvalidArgumentError, Option, type Command } from 'commander'
import { serve, type DaemonServer } from '../server/server'
import { resolveOptions, type ServeOptions } from '../server/options'
import { SERVE_OPTIONS } from '../server/option-table'
import { UsageError } from './usage-error'

/** Wraps a table parser for commander: its BadArgument becomes commander's usage error (exit 2). */
function argParser(parse: (text: string, previous: unknown) => unknown): (text: string, previous: unknown) => unknown {
  return (text, previous) => {
    try {
      return parse(text, previous)
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message)
    }
  }
}

/** commander's parsed flags (keyed by its attribute names, `svcCap`) as serve()'s options (`svcCaps`). */
function serveOptionsFromFlags(flags: Record<string, unknown>): ServeOptions {
  const options: Record<string, unknown> = {}
  for (const def of SERVE_OPTIONS) {
    if (!def.flag) continue
    const value = flags[new Option(def.flag).attributeName()]
    if (value !== undefined) options[def.name] = value
  }
  return options as ServeOptions
}

export function registerServe(program: Command): void {
  const command = program.command('serve').description('run the daemon on a Unix socket (and RESP, if asked)')
  for (const def of SERVE_OPTIONS) {
    if (!def.flag) continue
    const described = def.default ? `${def.description} (default: ${def.default})` : def.description
    // No commander default: an absent flag is absent from serve()'s options, which apply the defaults.
    command.addOption(new Option(def.flag, described).argParser(argParser(def.fromFlag!)))
    if (def.negate) command.addOption(new Option(def.negate.flag, def.negate.description))
  }
  command.action(async (flags: Record<string, unknown>) => {
    const options = serveOptionsFromFlags(flags)
    // Checks that need several flags (one password source, a password off loopback) are
    // usage errors too; only what happens while starting (a live socket, say) is not.
    try {
      resolveOptions(options)
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
    // The handlers go in before start-up: a supervisor may signal as soon as it reads the
    // "listening" line, and without a handler SIGTERM would kill the process unannounced.
    let server: DaemonServer | undefined
    let stopRequested = false
    let stopped!: () => void
    const done = new Promise<void>((resolve) => (stopped = resolve))
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      if (server) server.close().then(stopped)
      else stopRequested = true
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    try {
      server = await serve(options)
    } catch (err) {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      throw err
    }
    if (stopRequested) server.close().then(stopped)
    // A daemon that stopped itself (another one publishes with its host id) exits 1.
    const failure = await Promise.race([done.then(() => undefined), server.failed])
    if (failure) throw failure
  })
}
