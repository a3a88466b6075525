#!/usr/bin/env node
// Writes npm/<target>/package.json for every target and the root package.json's
// napi.targets, all from scripts/targets.mjs.
//   --check               write nothing; exit 1 if anything is out of date (CI runs it)
//   --optional-deps       also write the root optionalDependencies (one per platform
//                         package). Only for publishing: in the repo they would name
//                         packages that are not on the registry yet, which `npm ci` rejects.
//   --package-json PATH   the root package.json to update (default: the repo's)
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { targets, SCOPE, BINARY_NAME, RUST_TRIPLES } from './targets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const withOptionalDeps = args.includes('--optional-deps');
const pkgFlag = args.indexOf('--package-json');
const rootPkgPath = pkgFlag >= 0 ? args[pkgFlag + 1] : join(root, 'package.json');
const rootPkg = JSON.parse(readFileSync(rootPkgPath, 'utf8'));
const stale = [];

function write(path, value) {
  const text = JSON.stringify(value, null, 2) + '\n';
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (current === text) return;
  stale.push(path);
  if (!check) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

const optionalDependencies = {};
for (const t of targets()) {
  const file = `${BINARY_NAME}.${t.name}.node`;
  const pkg = {
    name: `${SCOPE}/${t.name}`,
    version: rootPkg.version,
    description: `${rootPkg.name} native binary for ${t.triple}`,
    license: rootPkg.license,
    repository: rootPkg.repository,
    engines: rootPkg.engines,
    os: [t.platform],
    cpu: [t.arch],
    ...(t.abi === 'gnu' || t.abi === 'musl' ? { libc: [t.abi === 'gnu' ? 'glibc' : 'musl'] } : {}),
    main: file,
    files: [file],
  };
  write(join(root, 'npm', t.name, 'package.json'), pkg);
  optionalDependencies[pkg.name] = rootPkg.version;
}

const next = { ...rootPkg, napi: { ...rootPkg.napi, binaryName: BINARY_NAME, targets: RUST_TRIPLES } };
if (withOptionalDeps) next.optionalDependencies = optionalDependencies;
else delete next.optionalDependencies;
write(rootPkgPath, next);

if (check && stale.length) {
  console.error(`out of date (run node scripts/generate-npm.mjs):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
console.log(check ? 'platform packages are up to date' : `wrote ${stale.length} file(s)`);
