#!/usr/bin/env node
// The localcached-native command line. Each command lives in its own small function.
import { Command, CommanderError } from 'commander'
import { runDemo } from './cli/demo'

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('localcached-native')
    .description('A host-local cache for Node.js services: a Rust byte-bounded LRU store, embedded or shared over a Unix socket.')
    .version(require('../../package.json').version)
    .exitOverride()
  program
    .command('demo')
    .description('run a short embedded-store demo: writes, reads, eviction under a tiny budget, TTL and stats')
    .action(() => runDemo())
  return program
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    process.stderr.write(`localcached-native: ${(err as Error).message}\n`)
    return 1
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
