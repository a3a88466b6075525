// ESM entry point: the implementation is compiled once, to CommonJS (dist/cjs), and
// re-exported here so both module systems share one copy of the native addon's state.
import cjs from '../dist/cjs/index.js'

export const {
  NativeStore,
  LocalCachedError,
  ERROR_CODES,
  decodeStats,
  STATS_FIELDS,
  LocalCachedClient,
  Subscription,
  serve,
  defaultSocketPath,
  parseSize,
  PROTOCOL_VERSION,
  resolveCodec,
} = cjs
export default cjs
