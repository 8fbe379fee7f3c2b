/**
 * Timer summaries: percent-threshold names computed once, histogram rules compiled once, and the
 * per-timer figures computed at flush time (the original's lib/process_metrics.js semantics).
 *
 * Everything here runs at flush time, once per timer key, never per sample.
 */

import type { HistogramRule } from '../config/types.js';
import type { RankReader } from './exphist.js';
import { saturate } from './finite.js';
import type { HistogramStat, PercentileStat } from './snapshot.js';

/** One configured percent threshold with its name suffix computed once. */
export interface Threshold {
  /** As configured: 90, -10, 99.9. */
  readonly pct: number;
  /** |pct| / 100. */
  readonly fraction: number;
  /** `90`, `top10`, `99_9` (the original: first '.' → '_', first '-' → 'top'). */
  readonly suffix: string;
}

/** The original's `('' + pct).replace('.', '_').replace('-', 'top')`. */
export function thresholdSuffix(pct: number): string {
  return String(pct).replace('.', '_').replace('-', 'top');
}

export function compileThresholds(list: readonly number[]): readonly Threshold[] {
  return Object.freeze(list.map((pct) => Object.freeze({ pct, fraction: Math.abs(pct) / 100, suffix: thresholdSuffix(pct) })));
}

/** A histogram rule with its bin names precomputed. */
export interface CompiledHistogram {
  readonly metric: string;
  /** Upper bounds, ascending (Infinity for `inf`), for the binary search at insert time. */
  readonly bounds: Float64Array;
  readonly boundList: readonly number[];
  readonly names: readonly string[];
}

/** `bin_` + bound with its first '.' as '_'; `bin_inf` for Infinity. */
export function binName(bound: number): string {
  return bound === Infinity ? 'bin_inf' : 'bin_' + String(bound).replace('.', '_');
}

export function compileHistograms(rules: readonly HistogramRule[]): readonly CompiledHistogram[] {
  return Object.freeze(
    rules.map((r) =>
      Object.freeze({
        metric: r.metric,
        bounds: Float64Array.from(r.bins),
        boundList: Object.freeze([...r.bins]),
        names: Object.freeze(r.bins.map(binName)),
      }),
    ),
  );
}

/** Index of the first matching rule (substring of the key id, first wins), -1 when none or no bins. */
export function matchHistogram(rules: readonly CompiledHistogram[], id: string): number {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (id.indexOf(r.metric) > -1) return r.bounds.length > 0 ? i : -1;
  }
  return -1;
}

/**
 * The bin a value falls in: the first bin whose bound is > v (a bin covers [previous, bound)),
 * or -1 when v is at or above the last bound (ignored, as the original does). Binary search.
 */
export function binIndex(bounds: Float64Array, v: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v < bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo < bounds.length ? lo : -1;
}

export function histogramStat(rule: CompiledHistogram, counts: Float64Array): HistogramStat {
  return { names: rule.names, bounds: rule.boundList, counts: Array.from(counts) };
}

/** Figures per emitted percentile in {@link TimerSummary.pctV}: count, mean, bound, sum, sumSquares. */
export const PCT_FIELDS = 5;

/** Mutable result of {@link summarize}; one instance reused across timers (copied into the snapshot). */
export class TimerSummary {
  lower = 0;
  upper = 0;
  sum = 0;
  sumSquares = 0;
  mean = 0;
  median = 0;
  std = 0;
  /**
   * The percentiles emitted (thresholds whose count_N is not 0), in configured order, as numbers:
   * `np` entries of threshold index (pctT) and PCT_FIELDS figures (pctV). No object per timer: a
   * flush of 100k timers kept ~25 MB of PercentileStat objects and arrays alive through its compute.
   */
  np = 0;
  pctT = new Int32Array(8);
  pctV = new Float64Array(8 * PCT_FIELDS);

  /** Room for `n` percentiles. */
  reserve(n: number): void {
    if (this.pctT.length >= n) return;
    this.pctT = new Int32Array(n);
    this.pctV = new Float64Array(n * PCT_FIELDS);
  }

  /** Appends one emitted percentile: threshold index `t` and its figures. */
  put(t: number, count: number, mean: number, bound: number, sum: number, sumSquares: number): void {
    const j = this.np++;
    this.pctT[j] = t;
    const v = this.pctV;
    const o = j * PCT_FIELDS;
    v[o] = count;
    // (differences and scalings of saturated sums can overflow again: finite.ts)
    v[o + 1] = mean - mean === 0 ? mean : saturate(mean);
    v[o + 2] = bound;
    v[o + 3] = sum - sum === 0 ? sum : saturate(sum);
    v[o + 4] = sumSquares - sumSquares === 0 ? sumSquares : saturate(sumSquares);
  }
}

/** PercentileStat objects from `np` entries of threshold indexes and figures (see TimerSummary). */
export function percentileStats(
  thresholds: readonly Threshold[],
  pctT: Int32Array,
  pctV: Float64Array,
  first: number,
  np: number,
): PercentileStat[] {
  const out = new Array<PercentileStat>(np);
  for (let j = 0; j < np; j++) {
    const th = thresholds[pctT[first + j]!]!;
    const o = (first + j) * PCT_FIELDS;
    out[j] = {
      threshold: th.pct,
      suffix: th.suffix,
      count: pctV[o]!,
      mean: pctV[o + 1]!,
      bound: pctV[o + 2]!,
      sum: pctV[o + 3]!,
      sumSquares: pctV[o + 4]!,
    };
  }
  return out;
}

/** Running aggregates of every value of the interval (exact even when the reservoir overflowed). */
export interface RunningAggregates {
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Cumulative sums in sorted order, kept in scratch arrays grown on demand so a flush over many
 * timers allocates only the snapshot's own arrays.
 */
export class Cumulative {
  sum = new Float64Array(64);
  sq = new Float64Array(64);

  fill(values: Float64Array, m: number): void {
    if (this.sum.length < m) {
      let cap = this.sum.length;
      while (cap < m) cap *= 2;
      this.sum = new Float64Array(cap);
      this.sq = new Float64Array(cap);
    }
    const cs = this.sum;
    const cq = this.sq;
    let s = 0;
    let q = 0;
    for (let i = 0; i < m; i++) {
      const v = values[i]!;
      s += v;
      q += v * v;
      // saturated at ±MAX_VALUE, not ±Infinity (finite.ts): one check for both
      if (s + q - (s + q) !== 0) {
        s = saturate(s);
        q = saturate(q);
      }
      cs[i] = s;
      cq[i] = q;
    }
  }
}

/**
 * Fill `out` for a timer whose sorted sample is `values` (length m >= 1).
 * - m === agg.n (the reservoir held every value): exactly the original's process_metrics.
 * - m < agg.n (overflow): lower/upper/sum/sumSquares/mean exact from the running aggregates, std from
 *   them, median and thresholds estimated from the sample with count_N, sum_N, sum_squares_N scaled to n.
 */
export function summarize(
  values: Float64Array,
  agg: RunningAggregates,
  thresholds: readonly Threshold[],
  cum: Cumulative,
  out: TimerSummary,
): void {
  const m = values.length;
  const n = agg.n;
  cum.fill(values, m);
  const cs = cum.sum;
  const cq = cum.sq;
  out.np = 0;
  out.reserve(thresholds.length);
  const mid = Math.floor(m / 2);
  if (m % 2) out.median = values[mid]!;
  else {
    const a = values[mid - 1]!;
    const b = values[mid]!;
    const h = a + b;
    // halves added when the sum overflows (the same result otherwise: halving is exact)
    out.median = h - h === 0 ? h / 2 : a / 2 + b / 2;
  }

  if (m === n) {
    const min = values[0]!;
    const max = values[m - 1]!;
    for (let t = 0; t < thresholds.length; t++) {
      const th = thresholds[t]!;
      if (n === 1) {
        // the original: with one value every threshold reports it
        out.put(t, 1, min, max, min, min * min);
        continue;
      }
      const num = Math.round(th.fraction * n);
      if (num === 0) continue;
      let bound: number;
      let sum: number;
      let sq: number;
      if (th.pct > 0) {
        bound = values[num - 1]!;
        sum = cs[num - 1]!;
        sq = cq[num - 1]!;
      } else {
        bound = values[n - num]!;
        const before = n - num - 1;
        sum = cs[n - 1]! - (before >= 0 ? cs[before]! : 0);
        sq = cq[n - 1]! - (before >= 0 ? cq[before]! : 0);
      }
      out.put(t, num, sum / num, bound, sum, sq);
    }
    const sum = cs[n - 1]!;
    const mean = sum / n;
    let diffs = 0;
    for (let i = 0; i < n; i++) {
      const d = values[i]! - mean;
      diffs += d * d;
    }
    out.lower = min;
    out.upper = max;
    out.sum = sum;
    out.sumSquares = cq[n - 1]!;
    out.mean = mean;
    const std = Math.sqrt(diffs / n);
    out.std = std - std === 0 ? std : saturate(std);
  } else {
    for (let t = 0; t < thresholds.length; t++) {
      const th = thresholds[t]!;
      const num = Math.round(th.fraction * n);
      if (num === 0) continue;
      const k = Math.min(m, Math.max(1, Math.round(th.fraction * m)));
      let bound: number;
      let sum: number;
      let sq: number;
      if (th.pct > 0) {
        bound = values[k - 1]!;
        sum = cs[k - 1]!;
        sq = cq[k - 1]!;
      } else {
        bound = values[m - k]!;
        const before = m - k - 1;
        sum = cs[m - 1]! - (before >= 0 ? cs[before]! : 0);
        sq = cq[m - 1]! - (before >= 0 ? cq[before]! : 0);
      }
      const scale = num / k;
      out.put(t, num, sum / k, bound, sum * scale, sq * scale);
    }
    const mean = agg.sum / n;
    out.lower = agg.min;
    out.upper = agg.max;
    out.sum = agg.sum;
    out.sumSquares = agg.sumSquares;
    out.mean = mean;
    out.std = Math.sqrt(Math.max(0, agg.sumSquares / n - mean * mean));
  }
}

/**
 * Fill `out` for a timer whose values went into an exponential histogram (the reservoir overflowed),
 * loaded in `hist`: the original's nearest-rank definitions over the histogram's values.
 * - median, upper_N / lower_topN: the bucket holding the rank, at its relative midpoint (within
 *   0.54 % at scale 6), clamped to the exact min and max;
 * - sum_N, sum_squares_N (and mean_N): the part (the N % or the rest) whose estimate is smaller is
 *   estimated, the other is the exact total minus it;
 * - count_N, lower, upper, sum, sum_squares, mean, std: exact from the running aggregates.
 */
export function summarizeHistogram(hist: RankReader, agg: RunningAggregates, thresholds: readonly Threshold[], out: TimerSummary): void {
  const n = agg.n;
  const hn = hist.n;
  out.np = 0;
  out.reserve(thresholds.length);
  const rank = (r: number): number => Math.min(Math.max(r, 1), hn);
  const mid = Math.floor(hn / 2);
  // (halves added: the sum of two values near MAX_VALUE would overflow; figures are saturated, aggregator/finite.ts)
  out.median = saturate(hn % 2 ? hist.valueAt(mid + 1) : hist.valueAt(rank(mid)) / 2 + hist.valueAt(mid + 1) / 2);
  const estSum = hist.totalSum;
  const estSq = hist.totalSquares;
  for (let t = 0; t < thresholds.length; t++) {
    const th = thresholds[t]!;
    const num = Math.round(th.fraction * n);
    if (num === 0) continue;
    // the `below` smallest values are outside (pct < 0) or inside (pct > 0) the threshold
    const k = th.pct > 0 ? num : n - num;
    const inside = th.pct > 0;
    const r = rank(k);
    const first = k <= 0 ? 0 : hist.sumFirst(r);
    const firstSq = k <= 0 ? 0 : hist.sqFirst(r);
    const rest = estSum - first;
    const restSq = estSq - firstSq;
    let sum: number;
    let sq: number;
    if (inside) {
      sum = Math.abs(first) <= Math.abs(rest) ? first : agg.sum - rest;
      sq = firstSq <= restSq ? firstSq : agg.sumSquares - restSq;
    } else {
      sum = Math.abs(rest) <= Math.abs(first) ? rest : agg.sum - first;
      sq = restSq <= firstSq ? restSq : agg.sumSquares - firstSq;
    }
    const bound = hist.valueAt(inside ? rank(num) : rank(n - num + 1));
    out.put(t, num, saturate(saturate(sum) / num), saturate(bound), saturate(sum), saturate(sq));
  }
  const mean = agg.sum / n;
  out.lower = agg.min;
  out.upper = agg.max;
  out.sum = agg.sum;
  out.sumSquares = agg.sumSquares;
  out.mean = mean;
  out.std = Math.sqrt(Math.max(0, agg.sumSquares / n - mean * mean));
}
