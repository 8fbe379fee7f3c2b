/**
 * What the aggregator hands to every backend at a flush: computed, immutable figures.
 * Backends must never mutate a snapshot (several backends read the same one).
 */

import type { MetricKey } from '../parser/types.js';
import type { ExpBucketsData } from './exphist.js';
import { saturate } from './finite.js';

export interface CounterStat {
  readonly key: MetricKey;
  /** Sum of value / sampleRate over the interval (the original's `counters[key]`). */
  readonly count: number;
  /** count / (intervalMs / 1000). */
  readonly rate: number;
}

/**
 * The interval's counters as columns: a key array and a Float64Array of counts, in insertion order.
 * Counters are most of the keys of a large installation: a flush of a million counters allocates two
 * arrays here instead of a million objects (memory and GC time). Hot consumers read {@link keys} and
 * {@link counts}; {@link at} and iteration build {@link CounterStat} objects on demand.
 */
export class CounterColumns implements Iterable<CounterStat> {
  /** count / rate divisor: the flush interval in seconds. */
  readonly intervalS: number;
  readonly length: number;

  constructor(
    /** Keys, index-aligned with counts. */
    readonly keys: readonly MetricKey[],
    /** Counts, one per key. */
    readonly counts: Float64Array,
    intervalMs: number,
  ) {
    this.intervalS = intervalMs / 1000;
    this.length = keys.length;
  }

  /** Columns from CounterStat-like records (tests, merges); rates are recomputed from the counts. */
  static from(stats: readonly { readonly key: MetricKey; readonly count: number }[], intervalMs: number): CounterColumns {
    const counts = new Float64Array(stats.length);
    for (let i = 0; i < stats.length; i++) counts[i] = stats[i]!.count;
    return new CounterColumns(
      stats.map((c) => c.key),
      counts,
      intervalMs,
    );
  }

  rate(i: number): number {
    const r = this.counts[i]! / this.intervalS;
    return r - r === 0 ? r : saturate(r);
  }

  at(i: number): CounterStat {
    const count = this.counts[i]!;
    return { key: this.keys[i]!, count, rate: this.rate(i) };
  }

  toArray(): CounterStat[] {
    const out = new Array<CounterStat>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.at(i);
    return out;
  }

  *[Symbol.iterator](): Iterator<CounterStat> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}

export interface GaugeStat {
  readonly key: MetricKey;
  readonly value: number;
  /** Set or changed by a line this interval (false: an idle gauge repeated, as the original does). */
  readonly updated: boolean;
}

export interface SetStat {
  readonly key: MetricKey;
  /** Unique members seen this interval. */
  readonly count: number;
  /** The members themselves (for npm backends, which read the original's Set objects); never mutate. */
  readonly members?: ReadonlySet<string>;
}

/** One configured percent threshold for one timer (the original's count_N, mean_N, ...). */
export interface PercentileStat {
  /** The threshold as configured, e.g. 90, -10, 99.9. */
  readonly threshold: number;
  /** Name suffix: `90`, `top10`, `99_9`. */
  readonly suffix: string;
  /** round(|N|/100 × count) — scaled to the true count when the reservoir overflowed. */
  readonly count: number;
  readonly mean: number;
  /** upper_N for positive N, lower_topN for negative N. */
  readonly bound: number;
  readonly sum: number;
  readonly sumSquares: number;
}

export interface TimerStat {
  readonly key: MetricKey;
  /** Values received this interval (unweighted). 0 for an idle timer: then only count/countPs are meaningful. */
  readonly n: number;
  /** Sample-rate weighted count (the original's timer_counters). */
  readonly count: number;
  readonly countPs: number;
  readonly lower: number;
  readonly upper: number;
  readonly sum: number;
  readonly sumSquares: number;
  readonly mean: number;
  readonly median: number;
  readonly std: number;
  /** One entry per threshold whose count_N is not 0, in configured order. */
  readonly percentiles: readonly PercentileStat[];
  /** Histogram bins (per-bin, not cumulative), or null when no histogram rule matches this key. */
  readonly histogram: HistogramStat | null;
  /**
   * The sorted reservoir sample (exactly all values when n <= reservoir size).
   * Valid for the duration of the flush call only: copy what you keep.
   */
  readonly samples: Float64Array;
  /** True when the reservoir held every value (percentiles exact). */
  readonly exact: boolean;
  /**
   * When the reservoir overflowed and the exponential histogram took over (see exphist.ts): every
   * value of the interval in base-2 exponential buckets, and `samples` is empty. Null or absent
   * otherwise. Valid for the duration of the flush call only, as `samples`.
   */
  readonly buckets?: ExpBucketsData | null;
  /**
   * Exact counts of this interval's values per bucket of upper bounds a backend asked for
   * (Aggregator.setTimerBounds): counts[k] values in (bounds[k − 1], bounds[k]]; values above the
   * last bound are not counted. Null or absent when none were asked for.
   */
  readonly le?: LeCounts | null;
}

/** See {@link TimerStat.le}. */
export interface LeCounts {
  readonly bounds: Float64Array;
  readonly counts: Float64Array;
}

export interface HistogramStat {
  /** `bin_0_01`, `bin_1`, `bin_inf` ... */
  readonly names: readonly string[];
  /** Upper bounds (Infinity for `inf`). */
  readonly bounds: readonly number[];
  /** Counts per bin, aligned with names. */
  readonly counts: readonly number[];
}

/** The daemon's own figures for this flush (names without prefixStats). */
export interface InternalStats {
  /** ms spent computing this snapshot (the original's statsd_metrics.processing_time). */
  readonly processingTimeMs: number;
  /** Number of live keys per type at flush time. */
  readonly liveCounters: number;
  readonly liveTimers: number;
  readonly liveGauges: number;
  readonly liveSets: number;
}

export interface Snapshot {
  /** Unix seconds of this flush (Math.round(now/1000), as the original). */
  readonly timestamp: number;
  readonly intervalMs: number;
  /** Includes the daemon's own counters (<prefixStats>.bad_lines_seen, packets_received, metrics_received). */
  readonly counters: CounterColumns;
  readonly timers: readonly TimerStat[];
  /** Includes <prefixStats>.timestamp_lag (absent at the very first flush). */
  readonly gauges: readonly GaugeStat[];
  readonly sets: readonly SetStat[];
  readonly internal: InternalStats;
  /**
   * Metric types beyond the core four (a store registered by stores.ts registerMetricStore): the store's
   * name → its stats for the interval, of the type its module exports; backends read them by the
   * registrations of their own (graphite/other-types.ts, prometheus/other-types.ts). Absent when no such
   * store is registered.
   */
  readonly others?: ReadonlyMap<string, readonly unknown[]>;
}
