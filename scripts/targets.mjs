// The one table of build targets. Everything per-platform is generated from it:
// npm/<target>/package.json, the root optionalDependencies and the napi target list
// (`node scripts/generate-npm.mjs`), and the release workflow's matrix mirrors it.
import { platformArchTriples } from '@napi-rs/triples';

/** Rust triples we build and publish, in release order. */
export const RUST_TRIPLES = [
  'x86_64-unknown-linux-gnu',
  'aarch64-unknown-linux-gnu',
  'x86_64-unknown-linux-musl',
  'aarch64-unknown-linux-musl',
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
];

export const SCOPE = '@localcached-native';
export const BINARY_NAME = 'localcached-native';

/** `{ triple, name, platform, arch, abi }` for each target, from @napi-rs/triples. */
export function targets() {
  const all = Object.values(platformArchTriples).flatMap((byArch) => Object.values(byArch).flat());
  return RUST_TRIPLES.map((triple) => {
    const t = all.find((x) => x.triple === triple);
    if (!t) throw new Error(`@napi-rs/triples does not know ${triple}`);
    return { triple, name: t.platformArchABI, platform: t.platform, arch: t.arch, abi: t.abi ?? null };
  });
}
