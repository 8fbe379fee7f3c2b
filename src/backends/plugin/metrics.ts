/**
 * A snapshot as the original statsd hands it to its backends' `flush(timestamp, metrics)` event:
 * plain objects keyed by the metric key (`name;tag=v` when tagged), built once per flush and shared by
 * every npm backend (as the original shares one object). The shapes follow the original's stats.js and
 * lib/process_metrics.js; where tallyd's figures differ (timers from the reservoir, sorted tags) the
 * README says so.
 */
import type { Snapshot, TimerStat } from '../../aggregator/snapshot.js';
import type { TallydConfig } from '../../config/types.js';
import { timerMetricFilterName } from '../graphite/format.js';

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

/** One timer's `timer_data` entry, in the original's field order, filtered by calculatedTimerMetrics. */
function timerData(t: TimerStat, keep: (field: string) => boolean): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  const set = (field: string, value: unknown): void => {
    if (keep(field)) d[field] = value;
  };
  if (t.n === 0) {
    set('count', 0);
    set('count_ps', 0);
    return d;
  }
  for (const p of t.percentiles) {
    set(`count_${p.suffix}`, p.count);
    set(`mean_${p.suffix}`, p.mean);
    set(`${p.threshold > 0 ? 'upper' : 'lower'}_${p.suffix}`, p.bound);
    set(`sum_${p.suffix}`, p.sum);
    set(`sum_squares_${p.suffix}`, p.sumSquares);
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
  if (t.histogram !== null && keep('histogram')) {
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

/** Builds the original's metrics object for one snapshot. */
export function originalMetrics(snapshot: Snapshot, config: TallydConfig): OriginalMetrics {
  const counters: Record<string, number> = {};
  const counterRates: Record<string, number> = {};
  const c = snapshot.counters;
  for (let i = 0; i < c.length; i++) {
    const id = c.keys[i]!.id;
    put(counters, id, c.counts[i]!);
    put(counterRates, id, c.rate(i));
  }
  const gauges: Record<string, number> = {};
  for (const g of snapshot.gauges) put(gauges, g.key.id, g.value);
  const timers: Record<string, number[]> = {};
  const timerCounters: Record<string, number> = {};
  const timerDataOut: Record<string, Record<string, unknown>> = {};
  const list = config.calculatedTimerMetrics;
  const keep = (field: string): boolean => list === null || list.length === 0 || list.includes(timerMetricFilterName(field));
  for (const t of snapshot.timers) {
    put(timers, t.key.id, Array.from(t.samples));
    put(timerCounters, t.key.id, t.count);
    put(timerDataOut, t.key.id, timerData(t, keep));
  }
  const sets: Record<string, OriginalSet> = {};
  for (const st of snapshot.sets) {
    const s = new OriginalSet();
    if (st.members !== undefined) for (const m of st.members) s.insert(m);
    put(sets, st.key.id, s);
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
