/**
 * Aggregator benchmarks: ingest throughput vs the original's data structures, flush cost and memory
 * per key at scale, and reservoir accuracy.
 *
 *   npm run build && node dist/bench/aggregator.bench.js
 *
 * (a) ingest: pre-parsed Samples for 1,000 keys (500 counters, 500 timers), with a flush every
 *     1M samples, vs a baseline doing what the original does (object of counters, object of arrays
 *     for timers, push per value, sort + cumulative sums at flush). The baseline gets its key
 *     strings for free (the original also decodes, sanitises and splits every line, not counted).
 * (b) flush with 1M counter keys and 100k timer keys (~10 values each); RSS per key; then the daemon's
 *     path (capture at the tick, compute and Graphite format in 5 ms slices) with the longest event-loop gap.
 * (c) reservoir accuracy (timerHistogram: false): 1M log-normal values in one interval, reservoir 1024
 *     and 4096, relative error of p50/p95/p99 vs an exact sort, median of 5 seeds (the histogram that
 *     takes over past the reservoir by default: bench/timers.bench.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Aggregator } from '../src/aggregator/aggregator.js';
import { seededRandom } from '../src/aggregator/reservoir.js';
import { GraphiteFormatter, graphiteFormatOptions, namespaceConfigFrom } from '../src/backends/graphite/format.js';
import { ChunkPool, OutgoingFlush } from '../src/backends/graphite/outgoing.js';
import { validateConfig } from '../src/config/index.js';
import type { TallydConfig } from '../src/config/types.js';
import { MetricType, Sample } from '../src/parser/types.js';

/** Results kept alive so the work is not optimised away. */
let sink = 0;

/** The real defaults (src/config), with no listeners, no backends and a silent log, plus overrides. */
function config(over: Partial<TallydConfig> = {}): TallydConfig {
  return {
    ...validateConfig({}).config,
    servers: [],
    mgmtPort: 0,
    backends: [],
    console: { prettyprint: false },
    logLevel: 'silent',
    automaticConfigReload: false,
    ...over,
  };
}

/** One buffer holding every key, and one Sample per key pointing into it. */
function makeSamples(names: string[], types: number[]): Sample[] {
  const buf = Buffer.from(names.join(''));
  const out: Sample[] = [];
  let off = 0;
  for (let i = 0; i < names.length; i++) {
    const s = new Sample();
    s.type = types[i] as Sample['type'];
    s.buf = buf;
    s.keyStart = off;
    off += Buffer.byteLength(names[i]!);
    s.keyEnd = off;
    s.tagStart = s.tagEnd = off;
    out.push(s);
  }
  return out;
}

let gcFn: (() => void) | undefined;
function gc(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}
function rss(): number {
  gc();
  return process.memoryUsage().rss;
}

// ------------------------------------------------------------------ (a) ingest

/** The original's structures: objects keyed by name, arrays of timer values, sort at flush. */
class Baseline {
  counters: Record<string, number> = {};
  timers: Record<string, number[]> = {};
  timerCounters: Record<string, number> = {};

  sample(type: number, key: string, value: number, rate: number): void {
    if (type === MetricType.Timer) {
      if (!this.timers[key]) {
        this.timers[key] = [];
        this.timerCounters[key] = 0;
      }
      this.timers[key].push(value);
      this.timerCounters[key]! += 1 / rate;
    } else {
      if (!this.counters[key]) this.counters[key] = 0;
      this.counters[key] += value * (1 / rate);
    }
  }

  flush(pct: number): number {
    let acc = 0;
    for (const key in this.counters) {
      acc += this.counters[key]! / 10;
      this.counters[key] = 0;
    }
    for (const key in this.timers) {
      const values = this.timers[key]!.sort((a, b) => a - b);
      const n = values.length;
      if (n === 0) continue;
      const cum = [values[0]!];
      const cumSq = [values[0]! * values[0]!];
      for (let i = 1; i < n; i++) {
        cum.push(values[i]! + cum[i - 1]!);
        cumSq.push(values[i]! * values[i]! + cumSq[i - 1]!);
      }
      const num = Math.round((pct / 100) * n);
      const mean = cum[n - 1]! / n;
      let diffs = 0;
      for (let i = 0; i < n; i++) diffs += (values[i]! - mean) ** 2;
      acc += values[num - 1]! + cum[num - 1]! + cumSq[n - 1]! + Math.sqrt(diffs / n);
      this.timers[key] = [];
      this.timerCounters[key] = 0;
    }
    return acc;
  }
}

function sanitize(key: string): string {
  return key
    .replace(/\s+/g, '_')
    .replace(/\//g, '-')
    .replace(/[^a-zA-Z_\-0-9.;=]/g, '');
}

function ingest(total: number, flushEvery: number): { tallyd: number; baseline: number; baselineDecode: number } {
  const names: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const timer = i % 2 === 1;
    names.push(timer ? `app.service${i % 17}.latency.${i}` : `app.service${i % 17}.requests.${i}`);
    types.push(timer ? MetricType.Timer : MetricType.Counter);
  }
  const samples = makeSamples(names, types);

  const agg = new Aggregator({ config: config(), random: seededRandom(1) });
  // warm up (JIT + first sight of every key)
  for (let i = 0; i < 200_000; i++) {
    const s = samples[i % 1000]!;
    s.value = i & 1023;
    agg.sample(s);
  }
  agg.flush(0);
  let t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const s = samples[i % 1000]!;
    s.value = i & 1023;
    agg.sample(s);
    if ((i + 1) % flushEvery === 0) sink += agg.flush(i).counters.length;
  }
  const tallyd = total / ((performance.now() - t0) / 1000);

  const base = new Baseline();
  for (let i = 0; i < 200_000; i++) base.sample(types[i % 1000]!, names[i % 1000]!, i & 1023, 1);
  base.flush(90);
  t0 = performance.now();
  for (let i = 0; i < total; i++) {
    base.sample(types[i % 1000]!, names[i % 1000]!, i & 1023, 1);
    if ((i + 1) % flushEvery === 0) sink += base.flush(90);
  }
  const baseline = total / ((performance.now() - t0) / 1000);

  // the same, plus the key work the original does for every line: decode the key bytes and sanitise
  const base2 = new Baseline();
  const decodeTotal = total / 4; // slower: fewer samples keep the run short
  for (let i = 0; i < 200_000; i++) {
    const s = samples[i % 1000]!;
    base2.sample(s.type, sanitize(s.buf.toString('utf8', s.keyStart, s.keyEnd)), i & 1023, 1);
  }
  base2.flush(90);
  t0 = performance.now();
  for (let i = 0; i < decodeTotal; i++) {
    const s = samples[i % 1000]!;
    base2.sample(s.type, sanitize(s.buf.toString('utf8', s.keyStart, s.keyEnd)), i & 1023, 1);
    if ((i + 1) % flushEvery === 0) sink += base2.flush(90);
  }
  const baselineDecode = decodeTotal / ((performance.now() - t0) / 1000);
  return { tallyd, baseline, baselineDecode };
}

// ------------------------------------------------------------------ (b) flush and memory at scale

export async function scale(): Promise<{
  counterBytesPerKey: number;
  timerBytesPerKey: number;
  flushMs: number;
  counterFlushMs: number;
  sliced: SlicedFlush;
}> {
  const counterNames: string[] = [];
  for (let i = 0; i < 1_000_000; i++) counterNames.push(`fleet.host${i % 1000}.counter.${i}`);
  const counters = makeSamples(
    counterNames,
    counterNames.map(() => MetricType.Counter),
  );
  const timerNames: string[] = [];
  for (let i = 0; i < 100_000; i++) timerNames.push(`fleet.host${i % 1000}.timer.${i}`);
  const timers = makeSamples(
    timerNames,
    timerNames.map(() => MetricType.Timer),
  );

  const before = rss();
  const agg = new Aggregator({ config: config(), random: seededRandom(2) });
  for (const s of counters) {
    s.value = 1;
    agg.sample(s);
  }
  const afterCounters = rss();
  // a flush of 1M counters alone
  let t0 = performance.now();
  sink += agg.flush(0).counters.length;
  const counterFlushMs = performance.now() - t0;

  for (let v = 0; v < 10; v++) {
    for (const s of timers) {
      s.value = v * 3.5;
      agg.sample(s);
    }
  }
  const afterTimers = rss();
  for (const s of counters) agg.sample(s);
  t0 = performance.now();
  const snap = agg.flush(10_000);
  const flushMs = performance.now() - t0;
  sink += snap.timers.length + snap.counters.length;
  return {
    counterBytesPerKey: (afterCounters - before) / 1_000_000,
    timerBytesPerKey: (afterTimers - afterCounters) / 100_000,
    flushMs,
    counterFlushMs,
    sliced: await slicedFlush(agg, counters, timers),
  };
}

interface SlicedFlush {
  /** The synchronous capture (gather + clear) at the tick. */
  captureMs: number;
  /** Compute: CPU ms (sum of slices), wall ms, slices, longest slice. */
  computeMs: number;
  computeWallMs: number;
  slices: number;
  longestSliceMs: number;
  /** Graphite formatting of that snapshot in slices: CPU ms, longest slice. */
  formatMs: number;
  formatLongestMs: number;
  /** Longest gap between two event-loop turns over the whole flush (capture, compute, format; GC included). */
  maxGapMs: number;
  /** perf_hooks.monitorEventLoopDelay over the same span: max and p99. */
  delayMaxMs: number;
  delayP99Ms: number;
}

/**
 * The daemon's flush path at the same scale: captureFlush at the tick, then the compute and the
 * Graphite formatting in 5 ms slices, while an event-loop turn probe (setImmediate) and
 * monitorEventLoopDelay record how long ingest would have waited.
 */
async function slicedFlush(agg: Aggregator, counters: Sample[], timers: Sample[]): Promise<SlicedFlush> {
  for (const s of counters) agg.sample(s);
  for (let v = 0; v < 10; v++) {
    for (const s of timers) {
      s.value = v * 3.5;
      agg.sample(s);
    }
  }
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  let last = performance.now();
  let maxGapMs = 0;
  let probing = true;
  const probe = (): void => {
    const t = performance.now();
    if (t - last > maxGapMs) maxGapMs = t - last;
    last = t;
    if (probing) setImmediate(probe);
  };
  await new Promise((resolve) => setTimeout(resolve, 50));
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  last = performance.now();
  setImmediate(probe);
  await nextTurn();
  const w0 = performance.now();
  const job = agg.captureFlush(20_000);
  const captureMs = performance.now() - w0;
  const snap = await job.run();
  const computeWallMs = performance.now() - w0;
  // a sender that keeps up: chunks go back to the pool as the daemon's does after writing them
  const pool = new ChunkPool(16);
  const out = new OutgoingFlush({ timestamp: snap.timestamp, pool });
  const f = new GraphiteFormatter(
    snap,
    graphiteFormatOptions(namespaceConfigFrom(config())),
    {
      lastException: 0,
      lastFlush: 0,
      flushTime: 0,
      flushLength: 0,
    },
    out,
    pool,
  );
  let formatMs = 0;
  let formatLongestMs = 0;
  for (;;) {
    const t = performance.now();
    const done = f.step(5);
    for (let c = out.nextChunk(); c !== null; c = out.nextChunk()) out.wrote(c);
    const d = performance.now() - t;
    formatMs += d;
    if (d > formatLongestMs) formatLongestMs = d;
    if (done) break;
    await nextTurn();
  }
  sink += f.payload.lines;
  await nextTurn();
  probing = false;
  h.disable();
  return {
    captureMs,
    computeMs: job.cpuMs,
    computeWallMs,
    slices: job.slices,
    longestSliceMs: job.longestSliceMs,
    formatMs,
    formatLongestMs,
    maxGapMs,
    delayMaxMs: h.max / 1e6,
    delayP99Ms: h.percentile(99) / 1e6,
  };
}

// ------------------------------------------------------------------ (c) reservoir accuracy

function logNormal(random: () => number): number {
  const u = 1 - random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.exp(3 + z);
}

function accuracy(size: number): { p50: number; p95: number; p99: number } {
  const errs = { p50: [] as number[], p95: [] as number[], p99: [] as number[] };
  const s = new Sample();
  s.type = MetricType.Timer;
  s.buf = Buffer.from('t');
  s.keyEnd = 1;
  for (let seed = 1; seed <= 5; seed++) {
    const data = new Float64Array(1_000_000);
    const rnd = seededRandom(1000 + seed);
    for (let i = 0; i < data.length; i++) data[i] = logNormal(rnd);
    const sorted = data.slice().sort();
    // (the reservoir alone: past it, timers use their exponential histogram by default, see timers.bench.ts)
    const agg = new Aggregator({
      config: config({ percentThreshold: [50, 95, 99], reservoirSize: size, timerHistogram: false }),
      random: seededRandom(seed),
    });
    for (let i = 0; i < data.length; i++) {
      s.value = data[i]!;
      agg.sample(s);
    }
    const t = agg.flush(0).timers.find((x) => x.key.id === 't')!;
    for (const [name, q] of [
      ['p50', 50],
      ['p95', 95],
      ['p99', 99],
    ] as const) {
      const want = sorted[Math.round((q / 100) * data.length) - 1]!;
      const got = t.percentiles.find((p) => p.threshold === q)!.bound;
      errs[name].push(Math.abs(got - want) / want);
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[2]!;
  return { p50: med(errs.p50), p95: med(errs.p95), p99: med(errs.p99) };
}

// ------------------------------------------------------------------ report

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pctf = (n: number) => (n * 100).toFixed(2) + ' %';

export async function main(): Promise<void> {
  const rows: [string, string][] = [];
  const a = ingest(20_000_000, 1_000_000);
  rows.push(['(a) ingest, 1k keys (50% timers): tallyd', fmt(a.tallyd) + ' samples/s']);
  rows.push(['(a) ingest: baseline, original structures, keys given as strings', fmt(a.baseline) + ' samples/s']);
  rows.push(['(a) ingest: baseline + per-line key decode and sanitise', fmt(a.baselineDecode) + ' samples/s']);
  rows.push(['(a) speed-up vs each baseline', `${(a.tallyd / a.baseline).toFixed(2)} × / ${(a.tallyd / a.baselineDecode).toFixed(2)} ×`]);
  const b = await scale();
  rows.push(['(b) flush(): 1M counters alone', fmt(b.counterFlushMs, 1) + ' ms']);
  rows.push(['(b) flush(): 1M counters + 100k timers × 10 values', fmt(b.flushMs, 1) + ' ms']);
  const sl = b.sliced;
  rows.push(['(b) sliced flush, same keys: capture at the tick (synchronous)', fmt(sl.captureMs, 1) + ' ms']);
  rows.push([
    '(b) sliced flush: compute CPU / wall, slices, longest slice',
    `${fmt(sl.computeMs, 1)} ms / ${fmt(sl.computeWallMs, 1)} ms, ${fmt(sl.slices)} slices, longest ${fmt(sl.longestSliceMs, 1)} ms`,
  ]);
  rows.push([
    '(b) sliced flush: Graphite format CPU, longest slice',
    `${fmt(sl.formatMs, 1)} ms, longest ${fmt(sl.formatLongestMs, 1)} ms`,
  ]);
  rows.push(['(b) sliced flush: max gap between event-loop turns (GC included)', fmt(sl.maxGapMs, 1) + ' ms']);
  rows.push(['(b) sliced flush: monitorEventLoopDelay max / p99', `${fmt(sl.delayMaxMs, 1)} ms / ${fmt(sl.delayP99Ms, 1)} ms`]);
  rows.push(['(b) RSS per counter key (1M keys)', fmt(b.counterBytesPerKey) + ' bytes']);
  rows.push(['(b) RSS per timer key (100k keys, 10 values)', fmt(b.timerBytesPerKey) + ' bytes']);
  for (const size of [1024, 4096]) {
    const c = accuracy(size);
    rows.push([
      `(c) reservoir ${size}, 1M log-normal: p50 / p95 / p99 rel. error (median of 5)`,
      `${pctf(c.p50)} / ${pctf(c.p95)} / ${pctf(c.p99)}`,
    ]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`aggregator bench (node ${process.version})`);
  for (const [k, v] of rows) console.log(k.padEnd(w) + '  ' + v);
  if (sink === -1) console.log(sink);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
