#!/usr/bin/env node
// The localcached-native command line. Each command lives in a small file under cli/.
// Exit codes: 0 success, 1 error (message on stderr), 2 usage, 3 `get` found nothing.
import { Command, CommanderError } from 'commander'
import { runDemo } from './cli/demo'
import { registerServe } from './cli/serve'
import { registerClientCommands } from './cli/client-commands'
import { PACKAGE_VERSION } from './version'

export const EXIT_ERROR = 1
export const EXIT_USAGE = 2

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command()
  program
    .name('localcached-native')
    .description('A host-local cache for Node.js services: a Rust byte-bounded LRU store, embedded or shared over a Unix socket.')
    .version(PACKAGE_VERSION)
    .exitOverride()
    .showHelpAfterError()
    // Options after a command belong to it: `put … --version 3` is the write's version, not -V.
    .enablePositionalOptions()
  registerServe(program)
  registerClientCommands(program, { stdout: (data) => process.stdout.write(data) }, setExitCode)
  program
    .command('demo')
    .description('run a short embedded-store demo: writes, reads, eviction under a tiny budget, TTL and stats')
    .action(() => runDemo())
  for (const command of program.commands) command.exitOverride()
  return program
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0
  try {
    await buildProgram((code) => (exitCode = code)).parseAsync(argv)
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE
    process.stderr.write(`localcached-native: ${(err as Error).message}\n`)
    return EXIT_ERROR
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
