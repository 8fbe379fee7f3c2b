/**
 * Timers past their reservoir (issue 10): the exponential histogram against the pure reservoir
 * (`timerHistogram: false`, the behaviour before it), in the same run.
 *
 *   npm run build && node dist/bench/timers.bench.js [--quick] [--only a,b,c,d] [--rounds N]
 *
 * (a) accuracy: five latency shapes × 10^3, 10^5, 10^6 values of one timer in one interval, through
 *     the aggregator; relative error of median, p90, p95, p99, p99.9 (upper_N) and mean_99 against
 *     the original's definitions computed on the exact values (sorted), histogram and reservoir.
 * (b) ingest: ns per timer value for timers already past their reservoir, histogram vs reservoir,
 *     runs interleaved (ABAB…), median of the runs.
 * (c) memory: RSS per overflowing timer key with 10,000 timers past their reservoirs in one
 *     interval, against 10,000 timers that fit (10 values), and where it goes.
 * (d) flush: 1M counters + 100k timer keys of which 10k past their reservoirs, compute CPU (the
 *     daemon's sliced path) and the synchronous flush(), histogram vs reservoir.
 */
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Aggregator } from '../src/aggregator/aggregator.js';
import type { ExpHistogram } from '../src/aggregator/exphist.js';
import { seededRandom } from '../src/aggregator/reservoir.js';
import type { TimerStat } from '../src/aggregator/snapshot.js';
import { validateConfig } from '../src/config/index.js';
import type { TallydConfig } from '../src/config/types.js';
import { MetricType, Sample } from '../src/parser/types.js';

let sink = 0;
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
/** Sections to run (a, b, c, d); all by default. */
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1]!.split(',')) : new Set(['a', 'b', 'c', 'd']);

/** CPU time of this process (user + system), ns: the machine is shared, wall time is not the cost. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function config(over: Partial<TallydConfig> = {}): TallydConfig {
  return {
    ...validateConfig({}).config,
    servers: [],
    mgmtPort: 0,
    backends: [],
    logLevel: 'silent',
    automaticConfigReload: false,
    ...over,
  };
}

let gcFn: (() => void) | undefined;
function rss(): number {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
  return process.memoryUsage().rss;
}

function makeSamples(names: string[], type: MetricType): Sample[] {
  const buf = Buffer.from(names.join(''));
  const out: Sample[] = [];
  let off = 0;
  for (const name of names) {
    const s = new Sample();
    s.type = type;
    s.buf = buf;
    s.keyStart = off;
    off += Buffer.byteLength(name);
    s.keyEnd = off;
    s.tagStart = s.tagEnd = off;
    out.push(s);
  }
  return out;
}

// ------------------------------------------------------------------ shapes

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export const SHAPES: { name: string; draw: (r: () => number) => number }[] = [
  { name: 'log-normal σ 0.8', draw: (r) => Math.exp(3 + 0.8 * gauss(r)) },
  { name: 'log-normal σ 1.5', draw: (r) => Math.exp(3 + 1.5 * gauss(r)) },
  {
    name: 'bimodal 97 % ~5 ms / 3 % ~300 ms',
    draw: (r) => (r() < 0.97 ? 5 * Math.exp(0.25 * gauss(r)) : 300 * Math.exp(0.3 * gauss(r))),
  },
  { name: 'Pareto α 1.5', draw: (r) => 1 / (1 - r()) ** (1 / 1.5) },
  { name: 'integer ms, many ties', draw: (r) => Math.round(Math.exp(2.5 + 0.7 * gauss(r))) },
];

export const FIGURES = ['median', 'p90', 'p95', 'p99', 'p99.9', 'mean_99'] as const;
type Errors = Record<(typeof FIGURES)[number], number>;

/** The original's figures from every value (sorted). */
export function exactFigures(values: Float64Array): Errors {
  const v = values.slice().sort();
  const n = v.length;
  const mid = Math.floor(n / 2);
  const at = (p: number) => v[Math.round((p / 100) * n) - 1]!;
  const k = Math.round(0.99 * n);
  let s = 0;
  for (let i = 0; i < k; i++) s += v[i]!;
  return {
    median: n % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2,
    p90: at(90),
    p95: at(95),
    p99: at(99),
    'p99.9': at(99.9),
    mean_99: s / k,
  };
}

export function statFigures(get: (name: string) => number): Errors {
  return {
    median: get('median'),
    p90: get('upper_90'),
    p95: get('upper_95'),
    p99: get('upper_99'),
    'p99.9': get('upper_99_9'),
    mean_99: get('mean_99'),
  };
}

function timerGetter(t: TimerStat): (name: string) => number {
  return (name) => {
    if (name === 'median') return t.median;
    const suffix = name.slice(name.indexOf('_') + 1);
    const p = t.percentiles.find((x) => x.suffix === suffix)!;
    return name.startsWith('upper') ? p.bound : p.mean;
  };
}

export function relErrors(got: Errors, want: Errors): Errors {
  const out = {} as Errors;
  for (const f of FIGURES) out[f] = Math.abs(got[f] - want[f]) / Math.abs(want[f]);
  return out;
}

function accuracy(): { shape: string; n: number; hist: Errors; res: Errors }[] {
  const rows: { shape: string; n: number; hist: Errors; res: Errors }[] = [];
  const s = new Sample();
  s.type = MetricType.Timer;
  s.buf = Buffer.from('t');
  s.keyEnd = s.tagStart = s.tagEnd = 1;
  for (const shape of SHAPES) {
    for (const n of [1e3, 1e5, 1e6]) {
      const r = seededRandom(n + shape.name.length);
      const values = Float64Array.from({ length: n }, () => shape.draw(r));
      const want = exactFigures(values);
      const run = (on: boolean): Errors => {
        const agg = new Aggregator({
          config: config({ percentThreshold: [90, 95, 99, 99.9], timerHistogram: on }),
          random: seededRandom(1),
        });
        for (let i = 0; i < n; i++) {
          s.value = values[i]!;
          agg.sample(s);
        }
        const t = agg.flush(0).timers[0]!;
        return relErrors(statFigures(timerGetter(t)), want);
      };
      rows.push({ shape: shape.name, n, hist: run(true), res: run(false) });
    }
  }
  return rows;
}

// ------------------------------------------------------------------ (b) ingest past the reservoir

type AggregatorCtor = new (opts: { config: TallydConfig }) => Aggregator;

/**
 * With TALLYD_BASE=<dir of another built tallyd> (e.g. main's, before this change), its Aggregator is
 * measured in the same run as a third column.
 */
async function baseAggregator(): Promise<AggregatorCtor | null> {
  const dir = process.env.TALLYD_BASE;
  if (dir === undefined || dir === '') return null;
  const mod = (await import(pathToFileURL(`${dir}/dist/src/aggregator/aggregator.js`).href)) as { Aggregator: AggregatorCtor };
  return mod.Aggregator;
}

function ingest(
  rounds: number,
  Base: AggregatorCtor | null,
): { hist: number; res: number; base: number; ratio: number; histVsRes: number; histVsBase: number } {
  const keys = 200;
  const perRound = 2_000_000;
  const names = Array.from({ length: keys }, (_, i) => `app.svc${i % 13}.latency.${i}`);
  const samples = makeSamples(names, MetricType.Timer);
  const r = seededRandom(9);
  const pool = Float64Array.from({ length: 1 << 16 }, () => Math.round(Math.exp(3 + gauss(r)) * 1000) / 1000);
  const aggs = {
    hist: new Aggregator({ config: config({ timerHistogram: true }) }),
    res: new Aggregator({ config: config({ timerHistogram: false }) }),
    base: Base === null ? null : new Base({ config: config() }),
  };
  const times = { hist: [] as number[], res: [] as number[], base: [] as number[] };
  const once = (agg: Aggregator): number => {
    // fill every reservoir (not timed), then time values that are all past it
    for (let i = 0; i < keys * 1024; i++) {
      const s = samples[i % keys]!;
      s.value = pool[i & 0xffff]!;
      agg.sample(s);
    }
    const t0 = cpuNs();
    for (let i = 0; i < perRound; i++) {
      const s = samples[i % keys]!;
      s.value = pool[(i * 7) & 0xffff]!;
      agg.sample(s);
    }
    const ns = (cpuNs() - t0) / perRound;
    sink += agg.flush(0).timers.length;
    return ns;
  };
  once(aggs.hist);
  once(aggs.res); // warm up all
  if (aggs.base !== null) once(aggs.base);
  for (let k = 0; k < rounds; k++) {
    times.hist.push(once(aggs.hist));
    times.res.push(once(aggs.res));
    if (aggs.base !== null) times.base.push(once(aggs.base));
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const hist = med(times.hist);
  const res = med(times.res);
  const base = aggs.base !== null ? med(times.base) : NaN;
  // medians of the per-round ratios too (each round's runs are back to back: less of the machine's drift)
  const histVsRes = med(times.hist.map((h, k) => h / times.res[k]!));
  const histVsBase = aggs.base !== null ? med(times.hist.map((h, k) => h / times.base[k]!)) : NaN;
  return { hist, res, base, ratio: hist / (aggs.base !== null ? base : res), histVsRes, histVsBase };
}

// ------------------------------------------------------------------ (c) memory per overflowing timer

function memory(): { perOverflowing: number; perFitting: number; histBytes: number; resBytes: number } {
  const n = 10_000;
  const r = seededRandom(4);
  const pool = Float64Array.from({ length: 1 << 16 }, () => Math.exp(3 + 1.5 * gauss(r)));
  const names = Array.from({ length: n }, (_, i) => `fleet.host${i % 100}.svc.latency.${i}`);
  const run = (valuesPerKey: number): { perKey: number; agg: Aggregator } => {
    const samples = makeSamples(names, MetricType.Timer);
    const before = rss();
    const agg = new Aggregator({ config: config() });
    for (let v = 0; v < valuesPerKey; v++) {
      for (let k = 0; k < n; k++) {
        const s = samples[k]!;
        s.value = pool[(v * n + k) & 0xffff]!;
        agg.sample(s);
      }
    }
    const after = rss();
    return { perKey: (after - before) / n, agg };
  };
  const fit = run(10);
  sink += fit.agg.flush(0).timers.length;
  const over = run(1200);
  const internals = over.agg as unknown as { timers: { expLive: ExpHistogram[]; res: Float64Array[] } };
  let histBytes = 0;
  let resBytes = 0;
  for (const h of internals.timers.expLive) histBytes += h.bytes();
  for (const a of internals.timers.res) resBytes += a.byteLength;
  sink += over.agg.flush(0).timers.length;
  return { perOverflowing: over.perKey, perFitting: fit.perKey, histBytes: histBytes / n, resBytes: resBytes / n };
}

// ------------------------------------------------------------------ (d) flush

async function flush(on: boolean): Promise<{ computeCpuMs: number; captureMs: number; syncMs: number; longestSliceMs: number }> {
  const counters = makeSamples(
    Array.from({ length: 1_000_000 }, (_, i) => `fleet.host${i % 1000}.counter.${i}`),
    MetricType.Counter,
  );
  const timers = makeSamples(
    Array.from({ length: 100_000 }, (_, i) => `fleet.host${i % 1000}.timer.${i}`),
    MetricType.Timer,
  );
  const r = seededRandom(5);
  const pool = Float64Array.from({ length: 1 << 16 }, () => Math.exp(3 + 0.8 * gauss(r)));
  const agg = new Aggregator({ config: config({ timerHistogram: on }) });
  const fill = (): void => {
    for (const s of counters) {
      s.value = 1;
      agg.sample(s);
    }
    let j = 0;
    for (let k = 0; k < timers.length; k++) {
      // one key in ten past its reservoir (2,000 values), the others 10 values
      const m = k % 10 === 0 ? 2000 : 10;
      const s = timers[k]!;
      for (let v = 0; v < m; v++) {
        s.value = pool[j++ & 0xffff]!;
        agg.sample(s);
      }
    }
  };
  fill();
  sink += agg.flush(0).timers.length; // first flush: keys created, pools primed
  fill();
  const t0 = cpuNs();
  const job = agg.captureFlush(10_000);
  const captureMs = (cpuNs() - t0) / 1e6;
  const c0 = cpuNs();
  const snap = await job.run();
  const computeCpuMs = (cpuNs() - c0) / 1e6;
  sink += snap.timers.length;
  fill();
  const t1 = cpuNs();
  sink += agg.flush(20_000).timers.length;
  const syncMs = (cpuNs() - t1) / 1e6;
  return { computeCpuMs, captureMs, syncMs, longestSliceMs: job.longestSliceMs };
}

// ------------------------------------------------------------------ report

const pct = (x: number) => (x * 100).toFixed(2) + ' %';
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export async function main(): Promise<void> {
  console.log(`timers bench (node ${process.version})${quick ? ' --quick' : ''}`);
  if (only.has('a')) accuracyReport();
  if (only.has('b')) {
    const Base = await baseAggregator();
    const roundsArg = process.argv.indexOf('--rounds');
    const b = ingest(roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 3 : 7, Base);
    const baseText = Base !== null ? `, before the change (TALLYD_BASE) ${b.base.toFixed(1)} ns/value` : '';
    console.log(
      `\n(b) ingest past the reservoir (200 keys), CPU time, median of runs: histogram ${b.hist.toFixed(1)} ns/value, reservoir only ${b.res.toFixed(1)} ns/value${baseText}: histogram ${((b.ratio - 1) * 100).toFixed(1)} % vs ${Base !== null ? 'before' : 'reservoir only'} (target within 15 %)`,
    );
    console.log(
      `    medians of the per-round ratios: histogram / reservoir only ${b.histVsRes.toFixed(3)}${Base !== null ? `, histogram / TALLYD_BASE ${b.histVsBase.toFixed(3)}` : ''}`,
    );
  }
  if (only.has('c')) {
    const c = memory();
    console.log(
      `\n(c) RSS per timer key, 10,000 keys in one interval: past the reservoir (1,200 values, log-normal σ 1.5) ${fmt(c.perOverflowing)} B; fitting (10 values) ${fmt(c.perFitting)} B`,
    );
    console.log(
      `    of which, per overflowing key: reservoir arrays ${fmt(c.resBytes)} B, histogram buckets ${fmt(c.histBytes)} B (target ≤ 16 KB in all)`,
    );
  }
  if (only.has('d')) {
    for (const on of [true, false]) {
      const d = await flush(on);
      console.log(
        `\n(d) flush, 1M counters + 100k timers (10k past the reservoir), ${on ? 'histogram' : 'reservoir'}, CPU: capture ${fmt(d.captureMs, 1)} ms, compute ${fmt(d.computeCpuMs, 1)} ms (longest slice ${fmt(d.longestSliceMs, 1)} ms wall), flush() ${fmt(d.syncMs, 1)} ms`,
      );
    }
  }
  if (sink === -1) console.log(sink);
}

function accuracyReport(): void {
  console.log("\n(a) accuracy, in-process: worst relative error vs the original's exact figures");
  console.log('| shape | values | median | p90 | p95 | p99 | p99.9 | mean_99 | reservoir only: median / p99 / p99.9 |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  let worst = 0;
  for (const row of accuracy()) {
    if (row.n >= 1e5) worst = Math.max(worst, row.hist.median, row.hist.p95, row.hist.p99, row.hist['p99.9'], row.hist.mean_99);
    console.log(
      `| ${row.shape} | 10^${Math.log10(row.n)} | ${FIGURES.map((f) => pct(row.hist[f])).join(' | ')} | ${pct(row.res.median)} / ${pct(row.res.p99)} / ${pct(row.res['p99.9'])} |`,
    );
  }
  console.log(`worst at 10^5 and 10^6 (median, p95, p99, p99.9, mean_99): ${pct(worst)} (target ≤ 1 %)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
