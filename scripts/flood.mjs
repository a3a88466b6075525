#!/usr/bin/env node
// npm run flood [-- --max-bytes 1gb]: proves the memory budget under a 10x write flood.
import { flood, rssLimit } from './flood-lib.mjs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { parseSize } = require('../dist/cjs/index.js');
const i = process.argv.indexOf('--max-bytes');
const maxBytes = parseSize(i >= 0 ? process.argv[i + 1] : '1gb');
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
console.log(`flood: writing 10 x ${mib(maxBytes)} with values of 64 B to 256 KiB from 4 clients`);
const r = await flood({ maxBytes });
console.log(`wrote ${mib(r.written)} in ${r.seconds.toFixed(1)} s (${mib(r.written / r.seconds)}/s), ${r.evictions} evictions`);
console.log(`stats samples: ${r.samples}; largest bytesCurrent ${r.maxSeen} <= maxBytes ${maxBytes}: ${r.overBudget === 0 ? 'yes' : `NO (${r.overBudget} samples over)`}`);
console.log(`daemon peak RSS ${mib(r.peakRss)}; limit idle RSS ${mib(r.idleRss)} + maxBytes x 1.15 + 32 MiB = ${mib(rssLimit(maxBytes, r.idleRss))}`);
const ok = r.overBudget === 0 && r.peakRss <= rssLimit(maxBytes, r.idleRss);
console.log(ok ? 'flood: passed' : 'flood: FAILED');
process.exit(ok ? 0 : 1);
