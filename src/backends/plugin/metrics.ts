/**
 * A snapshot as the original statsd hands it to its backends' `flush(timestamp, metrics)` event:
 * plain objects keyed by the metric key (`name;tag=v` when tagged), built once per flush and shared by
 * every npm backend (as the original shares one object). The shapes follow the original's stats.js and
 * lib/process_metrics.js; where tallyd's figures differ (timers from the reservoir, sorted tags) the
 * README says so.
 */
import type { Snapshot, TimerStat } from '../../aggregator/snapshot.js';
import type { TallydConfig } from '../../config/types.js';
import { nextTurn, type YieldToIngest } from '../../pipeline/scheduler.js';
import { timerMetricFilterName } from '../timer-fields.js';

/** The original's lib/set.js: members as the keys of `store`. */
export class OriginalSet {
  store: Record<string, true> = {};

  has(value: string): boolean {
    return value ? Object.hasOwn(this.store, value) : false;
  }

  insert(value: string): void {
    if (value) this.store[value] = true;
  }

  clear(): void {
    this.store = {};
  }

  values(): string[] {
    return Object.keys(this.store);
  }

  size(): number {
    return Object.keys(this.store).length;
  }
}

export interface OriginalMetrics {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  timers: Record<string, number[]>;
  timer_counters: Record<string, number>;
  sets: Record<string, OriginalSet>;
  counter_rates: Record<string, number>;
  timer_data: Record<string, Record<string, unknown>>;
  pctThreshold: number[];
  histogram: unknown;
  statsd_metrics: { processing_time: number };
}

/** obj[key] = value, also for a key such as `__proto__` (a key a sender chose). */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** The five per-threshold field names of one percentile suffix (made once per suffix, not per timer). */
interface PctNames {
  readonly count: string;
  readonly mean: string;
  readonly upper: string;
  readonly lower: string;
  readonly sum: string;
  readonly sumSquares: string;
}
const pctNamesCache = new Map<string, PctNames>();
function pctNames(suffix: string): PctNames {
  let n = pctNamesCache.get(suffix);
  if (n === undefined) {
    n = {
      count: `count_${suffix}`,
      mean: `mean_${suffix}`,
      upper: `upper_${suffix}`,
      lower: `lower_${suffix}`,
      sum: `sum_${suffix}`,
      sumSquares: `sum_squares_${suffix}`,
    };
    pctNamesCache.set(suffix, n);
  }
  return n;
}

/** One timer's `timer_data` entry, in the original's field order, filtered by calculatedTimerMetrics. */
function timerData(t: TimerStat, keep: ((field: string) => boolean) | null): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (t.n === 0) {
    if (keep === null || keep('count')) d.count = 0;
    if (keep === null || keep('count_ps')) d.count_ps = 0;
    return d;
  }
  const set = (field: string, value: unknown): void => {
    if (keep === null || keep(field)) d[field] = value;
  };
  for (const p of t.percentiles) {
    const n = pctNames(p.suffix);
    set(n.count, p.count);
    set(n.mean, p.mean);
    set(p.threshold > 0 ? n.upper : n.lower, p.bound);
    set(n.sum, p.sum);
    set(n.sumSquares, p.sumSquares);
  }
  set('std', t.std);
  set('upper', t.upper);
  set('lower', t.lower);
  set('count', t.count);
  set('count_ps', t.countPs);
  set('sum', t.sum);
  set('sum_squares', t.sumSquares);
  set('mean', t.mean);
  set('median', t.median);
  if (t.histogram !== null && (keep === null || keep('histogram'))) {
    const h: Record<string, number> = {};
    for (let j = 0; j < t.histogram.names.length; j++) h[t.histogram.names[j]!] = t.histogram.counts[j]!;
    d.histogram = h;
  }
  return d;
}

/** The histogram setting as the original passes it (`conf.histogram`: as written in the file). */
function rawHistogram(config: TallydConfig): unknown {
  const h = config.raw.histogram;
  return h === undefined ? undefined : structuredClone(h);
}

/** Keys handled between two checks of the clock. */
const CHECK_EVERY = 1024;
/** Work between two yields to ingest, ms. */
export const METRICS_SLICE_MS = 5;

/**
 * Builds the original's metrics object for one snapshot, in slices of about `sliceMs` that yield to
 * ingest in between: a million keys take seconds here (plain objects of a million properties), and
 * that time must not hold up UDP reads.
 */
export async function originalMetrics(
  snapshot: Snapshot,
  config: TallydConfig,
  yieldFn: YieldToIngest = nextTurn,
  sliceMs = METRICS_SLICE_MS,
): Promise<OriginalMetrics> {
  // timer samples are valid during the flush only: copied now, before the first yield (a memcpy each)
  const samples = snapshot.timers.map((t) => t.samples.slice());
  let deadline = performance.now() + sliceMs;
  // true when a slice is used up (checked every CHECK_EVERY units: no await, no clock read per key)
  const due = (i: number): boolean => (i & (CHECK_EVERY - 1)) === 0 && performance.now() >= deadline;
  const pause = async (): Promise<void> => {
    await yieldFn();
    deadline = performance.now() + sliceMs;
  };
  const counters: Record<string, number> = {};
  const counterRates: Record<string, number> = {};
  const c = snapshot.counters;
  const intervalS = c.intervalS;
  for (let i = 0; i < c.length; i++) {
    const id = c.keys[i]!.id;
    const count = c.counts[i]!;
    put(counters, id, count);
    put(counterRates, id, count / intervalS);
    if (due(i + 1)) await pause();
  }
  const gauges: Record<string, number> = {};
  for (let i = 0; i < snapshot.gauges.length; i++) {
    const g = snapshot.gauges[i]!;
    put(gauges, g.key.id, g.value);
    if (due(i + 1)) await pause();
  }
  const timers: Record<string, number[]> = {};
  const timerCounters: Record<string, number> = {};
  const timerDataOut: Record<string, Record<string, unknown>> = {};
  const list = config.calculatedTimerMetrics;
  const kept = new Map<string, boolean>();
  const keep =
    list === null || list.length === 0
      ? null
      : (field: string): boolean => {
          let k = kept.get(field);
          if (k === undefined) kept.set(field, (k = list.includes(timerMetricFilterName(field))));
          return k;
        };
  for (let i = 0; i < snapshot.timers.length; i++) {
    const t = snapshot.timers[i]!;
    put(timers, t.key.id, Array.from(samples[i]!));
    put(timerCounters, t.key.id, t.count);
    put(timerDataOut, t.key.id, timerData(t, keep));
    if (due((i + 1) * 16)) await pause();
  }
  const sets: Record<string, OriginalSet> = {};
  for (let i = 0; i < snapshot.sets.length; i++) {
    const st = snapshot.sets[i]!;
    const s = new OriginalSet();
    if (st.members !== undefined) for (const m of st.members) s.insert(m);
    put(sets, st.key.id, s);
    if (due(i + 1)) await pause();
  }
  return {
    counters,
    gauges,
    timers,
    timer_counters: timerCounters,
    sets,
    counter_rates: counterRates,
    timer_data: timerDataOut,
    pctThreshold: [...config.percentThreshold],
    histogram: rawHistogram(config),
    statsd_metrics: { processing_time: Math.round(snapshot.internal.processingTimeMs) },
  };
}
