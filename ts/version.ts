import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from './loader'

/** This package's version, read once from its package.json. */
export const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version
