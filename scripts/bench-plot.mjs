// `npm run bench:embedded -- --plot <file.svg>`: draws the headline workload with Vega-Lite,
// rendered to SVG in Node (no browser, no canvas): per configuration, a histogram of GC pause
// durations on log-spaced bins for both caches, then bars of request-phase time and RSS.
import { writeFileSync } from 'node:fs';

const EDGES = [0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, Infinity];
// Each bin is labelled by its lower edge: `5` holds pauses of 5 ms up to 10 ms.
const BIN_LABELS = EDGES.slice(0, -1).map((lo, i) => (EDGES[i + 1] === Infinity ? `${lo}+` : `${lo}`));
const CACHES = { native: 'NativeStore', lru: 'lru-cache' };
const COLORS = ['#1f77b4', '#ff7f0e'];

const configName = (r) => `${r.n >= 1e6 ? `${r.n / 1e6}M` : `${r.n / 1e3}k`} entries, ${r.setup === 'loop' ? 'plain loop' : 'event loop'}`;

export async function writePlot(file, results, caption) {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const pauses = [];
  const bars = [];
  for (const r of results) {
    const config = configName(r);
    for (const [kind, cache] of Object.entries(CACHES)) {
      const s = r[kind];
      const counts = new Array(BIN_LABELS.length).fill(0);
      for (const p of s.pauses) counts[EDGES.findIndex((e, i) => p >= e && p < EDGES[i + 1])]++;
      counts.forEach((c, i) => pauses.push({ config, cache, bin: BIN_LABELS[i], perPhase: c / s.phases }));
      bars.push({ config, cache, metric: 'time per phase, ms (median)', value: Math.round(s.ms) });
      bars.push({ config, cache, metric: 'RSS at phase end, MiB', value: Math.round(s.rss / 1048576) });
      bars.push({ config, cache, metric: 'max GC pause, ms', value: Math.round(s.gcMax * 10) / 10 });
    }
  }
  const color = { field: 'cache', type: 'nominal', title: null, scale: { domain: Object.values(CACHES), range: COLORS } };
  const configs = results.map(configName);
  const barChart = (metric) => ({
    title: metric,
    width: 210,
    height: 170,
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'config', type: 'nominal', sort: configs, title: null, axis: { labelLimit: 220 } },
      yOffset: { field: 'cache', sort: Object.values(CACHES) },
      x: { field: 'value', type: 'quantitative', title: null },
      color,
    },
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'NativeStore vs lru-cache: request-like workload (5 gets, 1 JSON.parse, 1 set per request)', subtitle: caption },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
    vconcat: [
      {
        data: { values: pauses },
        title: 'GC pauses per phase, by duration (ms, log-spaced bins)',
        facet: { field: 'config', type: 'nominal', sort: configs, title: null, header: { labelFontSize: 12 } },
        columns: 2,
        spec: {
          width: 330,
          height: 140,
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'bin', type: 'ordinal', sort: BIN_LABELS, title: 'pause duration, ms (from this bin edge to the next)', axis: { labelAngle: 0 } },
            xOffset: { field: 'cache', sort: Object.values(CACHES) },
            y: { field: 'perPhase', type: 'quantitative', title: 'pauses per phase' },
            color,
          },
        },
      },
      { data: { values: bars }, hconcat: [barChart('time per phase, ms (median)'), barChart('RSS at phase end, MiB'), barChart('max GC pause, ms')] },
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(file, svg);
}
