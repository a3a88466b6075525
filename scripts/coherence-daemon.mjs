// A bridged daemon for the multi-host coherence checker: serve() with the options given as
// JSON (so that the mutation, bridgeIgnoreGaps, which has no flag, can be set), until SIGTERM.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { serve } = require(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cjs', 'index.js'));
const server = await serve({ logLevel: 'warn', logFormat: 'json', ...JSON.parse(process.argv[2]) });
process.stderr.write('localcached listening\n');
const stop = () => server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
server.failed.then(() => process.exit(1));
