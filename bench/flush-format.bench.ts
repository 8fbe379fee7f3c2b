/**
 * The flush's output formatting, timed in process CPU time (a loaded machine disturbs it far less
 * than wall time), median of alternated rounds in one process. One hand-built snapshot: 200,000
 * counters (a tenth tagged), 20,000 timers (90th percentile, a histogram on a tenth), 20,000 gauges,
 * 5,000 sets; about 620,000 Graphite lines.
 *
 *   npm run build && node dist/bench/flush-format.bench.js [--rounds 9] [--before <dist of another build>]
 *
 * Rows (each the figure a comment in src/ cites):
 *   1. Graphite plaintext (GraphiteFormatter, backends/graphite/format.ts): ms per flush; with --before,
 *      the other build's formatter on the same snapshot, alternated, and after/before.
 *   2. Graphite pickle (backends/graphite/pickle.ts) against plaintext: ms per flush and the ratio.
 *   3. CHUNK_CHARS (backends/graphite/line-out.ts): the same lines concatenated into 32 Ki-char strings written into a chunk,
 *      against 1 Mi-char strings converted with Buffer.from: ms each and the ratio.
 *   4. The console backend's one-line JSON (fast-json-stringify) against JSON.stringify of the same object.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CounterColumns, type GaugeStat, type SetStat, type Snapshot, type TimerStat } from '../src/aggregator/snapshot.js';
import { consoleObject, stringifyFlat } from '../src/backends/console/index.js';
import { formatGraphite, graphiteFormatOptions, namespaceConfigFrom } from '../src/backends/graphite/format.js';
import { timerFieldFilter } from '../src/backends/timer-fields.js';
import { validateConfig } from '../src/config/index.js';
import type { MetricKey } from '../src/parser/types.js';

/** Results kept alive so the work is not optimised away. */
let sink = 0;

const { values: args } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '9' } } });
const rounds = Number(args.rounds);

function key(name: string, tagged: boolean): MetricKey {
  const graphiteTags = tagged ? ';env=prod;host=web1' : '';
  return {
    name,
    tags: tagged
      ? [
          ['env', 'prod'],
          ['host', 'web1'],
        ]
      : [],
    graphiteTags,
    id: name + graphiteTags,
  };
}

function buildSnapshot(): Snapshot {
  const counterKeys: MetricKey[] = [];
  const counts = new Float64Array(200_000);
  for (let i = 0; i < 200_000; i++) {
    counterKeys.push(key(`app.svc${i % 37}.requests.${i}`, i % 10 === 0));
    counts[i] = (i % 97) + 0.5;
  }
  const timers: TimerStat[] = [];
  for (let i = 0; i < 20_000; i++) {
    const n = 10;
    const v = i % 500;
    timers.push({
      key: key(`app.svc${i % 37}.latency.${i}`, i % 10 === 0),
      n,
      count: n,
      countPs: n / 10,
      lower: v,
      upper: v + 9.5,
      sum: n * v + 45,
      sumSquares: n * v * v + 285,
      mean: v + 4.5,
      median: v + 4.5,
      std: 2.8722813232690143,
      percentiles: [{ threshold: 90, suffix: '90', count: 9, mean: v + 4, bound: v + 8, sum: 9 * v + 36, sumSquares: 9 * v * v + 204 }],
      histogram: i % 10 === 0 ? { names: ['bin_10', 'bin_100', 'bin_inf'], bounds: [10, 100, Infinity], counts: [3, 5, 2] } : null,
      samples: new Float64Array(0),
      exact: true,
    });
  }
  const gauges: GaugeStat[] = [];
  for (let i = 0; i < 20_000; i++) gauges.push({ key: key(`app.svc${i % 37}.queue.${i}`, false), value: i * 1.25, updated: true });
  const sets: SetStat[] = [];
  for (let i = 0; i < 5000; i++) sets.push({ key: key(`app.svc${i % 37}.users.${i}`, false), count: i % 300 });
  return {
    timestamp: 1795421995,
    intervalMs: 10_000,
    counters: new CounterColumns(counterKeys, counts, 10_000),
    timers,
    gauges,
    sets,
    internal: { processingTimeMs: 12, liveCounters: 200_000, liveTimers: 20_000, liveGauges: 20_000, liveSets: 5000 },
  };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median CPU ms of each run, the runs alternated round by round (one warm-up round first). */
function alternate(runs: Array<() => number>): number[] {
  const times: number[][] = runs.map(() => []);
  for (let r = -1; r < rounds; r++) {
    for (let k = 0; k < runs.length; k++) {
      const t = process.cpuUsage();
      sink += runs[k]!();
      if (r >= 0) times[k]!.push(cpuMs(t));
    }
  }
  return times.map(median);
}

// biome-ignore lint/suspicious/noExplicitAny: the format module of another build, loaded by path
type Any = any;

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const snap = buildSnapshot();
  const config = validateConfig({}).config;
  const plain = graphiteFormatOptions(namespaceConfigFrom(config));
  const pickle = graphiteFormatOptions({ ...namespaceConfigFrom(config), protocol: 'pickle' });
  const extra = { lastException: 0, lastFlush: 0, flushTime: 0, flushLength: 0 };
  const after = (): number => formatGraphite(snap, plain, extra).bytes.length;
  const rows: Array<[string, string]> = [];
  const lines = formatGraphite(snap, plain, extra).lines;
  rows.push(['snapshot', `${lines.toLocaleString('en-US')} Graphite lines, median of ${rounds} rounds (CPU time)`]);

  // 1. plaintext, and the other build's formatter on the same snapshot
  if (args.before !== undefined) {
    const other = (await import(pathToFileURL(resolve(args.before, 'src/backends/graphite/format.js')).href)) as Any;
    const before = (): number =>
      (other.formatGraphite(snap, other.graphiteFormatOptions(other.namespaceConfigFrom(config)), extra).bytes as Buffer).length;
    const a = formatGraphite(snap, plain, extra).bytes;
    const b = other.formatGraphite(snap, other.graphiteFormatOptions(other.namespaceConfigFrom(config)), extra).bytes as Buffer;
    // graphiteStats.calculationtime is the one figure that may differ (ms spent formatting)
    const strip = (x: Buffer): string => x.toString().replace(/calculationtime \d+/, 'calculationtime _');
    rows.push(['1. before/after bytes', strip(a) === strip(b) ? 'identical (calculationtime aside)' : 'DIFFERENT']);
    const [tb, ta] = alternate([before, after]);
    rows.push(['1. Graphite plaintext', `before ${fmt(tb!)}, after ${fmt(ta!)}: after/before ${(ta! / tb!).toFixed(3)}`]);
  } else {
    const [ta] = alternate([after]);
    rows.push(['1. Graphite plaintext', fmt(ta!)]);
  }

  // 2. pickle against plaintext
  const [tp, tq] = alternate([after, () => formatGraphite(snap, pickle, extra).bytes.length]);
  rows.push(['2. Graphite pickle', `${fmt(tq!)} against plaintext ${fmt(tp!)}: ${(tq! / tp!).toFixed(2)}x`]);

  // 3. the lines into 32 Ki-char strings written into a chunk, against 1 Mi-char strings converted by Buffer.from
  const text = formatGraphite(snap, plain, extra).bytes.toString();
  const lineList = text.split('\n').map((l) => l + '\n');
  lineList.pop();
  const chunk = Buffer.allocUnsafe(1 << 17);
  const chunked = (): number => {
    let s = '';
    let n = 0;
    for (const l of lineList) {
      s += l;
      if (s.length > 1 << 15) {
        n += chunk.write(s, 0, 'utf8');
        s = '';
      }
    }
    return n + chunk.write(s, 0, 'utf8');
  };
  const mebi = (): number => {
    let s = '';
    let n = 0;
    for (const l of lineList) {
      s += l;
      if (s.length > 1 << 20) {
        n += Buffer.from(s, 'utf8').length;
        s = '';
      }
    }
    return n + Buffer.from(s, 'utf8').length;
  };
  const [tc, tw] = alternate([chunked, mebi]);
  rows.push(['3. chunks of 32 Ki chars', `${fmt(tc!)} against 1 Mi-char strings + Buffer.from ${fmt(tw!)}: ${(tw! / tc!).toFixed(2)}x`]);

  // 4. console: fast-json-stringify against JSON.stringify
  const obj = consoleObject(snap, [90], timerFieldFilter(null));
  const [tf, tj] = alternate([() => stringifyFlat(obj).length, () => JSON.stringify(obj).length]);
  rows.push(['4. console JSON', `fast-json-stringify ${fmt(tf!)} against JSON.stringify ${fmt(tj!)}: ${(tj! / tf!).toFixed(2)}x`]);

  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`flush-format bench (node ${process.version})`);
  for (const [k, v] of rows) console.log(k.padEnd(w) + '  ' + v);
  if (sink === -1) console.log(sink);
}

await main();
