// ESM entry point of the Keyv adapter; the implementation is the CommonJS build.
import cjs from '../dist/cjs/keyv.js'

export const { KeyvLocalcached, encodeValue, decodeValue } = cjs
export default KeyvLocalcached
