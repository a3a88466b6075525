// One pino logger per daemon, created at start-up and handed down as children.
import pino, { type Logger, type DestinationStream, type LevelWithSilent } from 'pino'

export type { Logger }

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  return pino({ name: 'localcached', level }, destination ?? pino.destination({ dest: 2, sync: true }))
}
