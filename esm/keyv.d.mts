export * from '../dist/cjs/keyv.js'
export { KeyvLocalcached as default } from '../dist/cjs/keyv.js'
