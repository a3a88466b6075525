// A command line that cannot be run as given (a bad flag value, flags that conflict): the
// CLI prints the message and exits 2, like commander's own usage errors.
import { LocalCachedError } from '../errors'

export class UsageError extends LocalCachedError {
  constructor(message: string) {
    super('BadArgument', message)
    this.name = 'UsageError'
  }
}
