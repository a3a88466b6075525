// Finds and loads the native addon. Tries, in order:
//   1. the path in $LOCALCACHED_NATIVE_PATH (an explicit override);
//   2. the installed platform package @localcached-native/<target>;
//   3. a local build, localcached-native.<target>.node at the package root.
// If all fail, throws one error that lists every attempt and why it failed.

import { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type * as Binding from '../binding'

export type NativeBinding = typeof Binding

export const OVERRIDE_ENV = 'LOCALCACHED_NATIVE_PATH'

/** The platform package suffix for this process: linux-x64-gnu, darwin-arm64, … */
export function currentTarget(): string {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function isMusl(): boolean {
  // glibc reports its version in the process report; musl does not.
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return !report?.header?.glibcVersionRuntime
}

/** The directory holding our package.json, from wherever this file was compiled to. */
export function packageRoot(): string {
  let dir = typeof __dirname === 'string' ? __dirname : process.cwd()
  for (;;) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) {
      try {
        if (JSON.parse(readFileSync(candidate, 'utf8')).name === 'localcached-native') return dir
      } catch {
        // Not ours or unreadable; keep walking up.
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('localcached-native: cannot find its own package.json')
    dir = parent
  }
}

let cached: NativeBinding | undefined

export function loadBinding(): NativeBinding {
  if (cached) return cached
  const root = packageRoot()
  const requireFromRoot = createRequire(join(root, 'package.json'))
  const target = currentTarget()
  const attempts: Array<[string, string]> = []
  const override = process.env[OVERRIDE_ENV]
  if (override) attempts.push([`$${OVERRIDE_ENV}`, override])
  attempts.push(['platform package', `@localcached-native/${target}`])
  attempts.push(['local build', join(root, `localcached-native.${target}.node`)])

  const failures: string[] = []
  for (const [label, spec] of attempts) {
    try {
      const binding = requireFromRoot(spec) as NativeBinding
      if (typeof binding.createStore !== 'function') throw new Error('it does not export createStore')
      cached = binding
      return binding
    } catch (err) {
      failures.push(`  - ${label} (${spec}): ${(err as Error).message.split('\n')[0]}`)
    }
  }
  throw new Error(
    `localcached-native could not load its native addon for ${target}.\n` +
      `Tried:\n${failures.join('\n')}\n` +
      `Install the platform package (npm install @localcached-native/${target}), ` +
      `build from source (npm run build:native), or point $${OVERRIDE_ENV} at a .node file.`,
  )
}
