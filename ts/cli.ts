#!/usr/bin/env node
// The localcached-native command line. Each command lives in a small file under cli/.
// Exit codes: 0 success, 1 error (message on stderr), 2 usage, 3 `get` found nothing.
import { Command, CommanderError } from 'commander'
import { runDemo } from './cli/demo'
import { registerServe } from './cli/serve'
import { registerClientCommands, type Out } from './cli/client-commands'
import { UsageError } from './cli/usage-error'
import { registerTop } from './cli/top'
import { PACKAGE_VERSION } from './version'

export const EXIT_ERROR = 1
export const EXIT_USAGE = 2

export function buildProgram(setExitCode: (code: number) => void, out: Out = { stdout: (data) => process.stdout.write(data), isTTY: process.stdout.isTTY === true }): Command {
  const program = new Command()
  program
    .name('localcached-native')
    .description('A host-local cache for Node.js services: a Rust byte-bounded store (SIEVE eviction), embedded or shared over a Unix socket.')
    .version(PACKAGE_VERSION)
    .exitOverride()
    .showHelpAfterError()
    // Options after a command belong to it: `put … --version 3` is the write's version, not -V.
    .enablePositionalOptions()
  registerServe(program)
  registerClientCommands(program, out, setExitCode)
  registerTop(program, out)
  program
    .command('demo')
    .description('run a short embedded-store demo: writes, reads, eviction under a tiny budget, TTL and stats')
    .action(() => runDemo())
  for (const command of program.commands) command.exitOverride()
  return program
}

export async function main(argv: string[], out?: Out): Promise<number> {
  let exitCode = 0
  try {
    await buildProgram((code) => (exitCode = code), out).parseAsync(argv)
    return exitCode
  } catch (err) {
    // commander has printed its own message (and the help) already.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE
    process.stderr.write(`localcached-native: ${(err as Error).message}\n`)
    return err instanceof UsageError ? EXIT_USAGE : EXIT_ERROR
  }
}

if (require.main === module) {
  // Output piped into `head` and the like: a closed pipe is a normal end, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
  main(process.argv).then((code) => {
    process.exitCode = code
  })
}
