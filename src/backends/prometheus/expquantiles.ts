/**
 * Prometheus figures of timers that went past their reservoir (their values are in an exponential
 * histogram, TimerStat.buckets; see src/aggregator/exphist.ts): summary quantiles from the same
 * nearest-rank estimator as Graphite's upper_N, and histogram bucket counts.
 */
import { bucketIndex, bucketLower, type ExpBucketsData, ExpHistogram, RankReader } from '../../aggregator/exphist.js';
import type { TimerStat } from '../../aggregator/snapshot.js';

const reader = new RankReader();
/** Several timers feeding one series: their values united in one histogram (reused). */
const union = new ExpHistogram(16_384);

/** True when one of the timers carries a histogram (then the helpers below are used for all of them). */
export function anyBuckets(timers: readonly TimerStat[]): boolean {
  for (let i = 0; i < timers.length; i++) if (timers[i]!.buckets != null) return true;
  return false;
}

/**
 * Quantiles `qs` of the values of `timers` (each value × its scale), nearest rank: the value at rank
 * ceil(q·n) of n, as for a reservoir; written to `out`. Values are counted once each (not weighted
 * by sample rates).
 */
export function histogramQuantiles(
  timers: readonly TimerStat[],
  scales: readonly number[],
  qs: readonly number[],
  out: Float64Array,
): void {
  let data: ExpBucketsData;
  let min = Infinity;
  let max = -Infinity;
  const scale = scales[0]!;
  if (timers.length === 1 && timers[0]!.buckets != null) {
    const t = timers[0]!;
    data = t.buckets!;
    min = t.lower;
    max = t.upper;
  } else {
    // (one series, several keys, several mapping scales: values are scaled into the first one's units)
    union.reset();
    for (let i = 0; i < timers.length; i++) {
      const t = timers[i]!;
      const f = scales[i]! / scale;
      if (t.n === 0) continue;
      if (t.lower * f < min) min = t.lower * f;
      if (t.upper * f > max) max = t.upper * f;
      if (t.buckets != null) {
        if (f === 1) union.merge(t.buckets);
        else addScaled(union, t.buckets, f);
      }
      for (let j = 0; j < t.samples.length; j++) union.add(t.samples[j]! * f);
    }
    union.trim();
    data = union.data();
  }
  reader.load(data, min, max);
  const n = reader.n;
  for (let k = 0; k < qs.length; k++) {
    if (n === 0) {
      out[k] = NaN;
      continue;
    }
    const r = Math.min(n, Math.max(1, Math.ceil(qs[k]! * n)));
    out[k] = reader.valueAt(r) * scale;
  }
}

/** Buckets of another unit: each bucket's count at its midpoint × f (rare: one series fed at several scales). */
function addScaled(h: ExpHistogram, b: ExpBucketsData, f: number): void {
  const step = 2 ** (2 ** -b.scale);
  for (let k = 0; k < b.pos.length; k++) {
    const c = b.pos[k]!;
    if (c === 0) continue;
    const v = bucketLower(b.posBase + k, b.scale) * Math.sqrt(step) * f;
    h.addIndex(h.pos, indexOf(h, v), c);
  }
  for (let k = 0; k < b.neg.length; k++) {
    const c = b.neg[k]!;
    if (c === 0) continue;
    const v = bucketLower(b.negBase + k, b.scale) * Math.sqrt(step) * f;
    h.addIndex(h.neg, indexOf(h, v), c);
  }
  h.zero += b.zero;
}

function indexOf(h: ExpHistogram, v: number): number {
  return bucketIndex(v, h.scale);
}

/**
 * Adds to `cum[k]` the number of values <= bounds[k] / scale of a timer's histogram (× weight: each
 * value stands for count / n values under sample rates). Whole buckets
 * below the bound count fully; the bucket holding the bound counts in proportion of its log-width
 * below the bound (an estimate within one bucket, 0.54 % of the value range at scale 6).
 */
export function histogramBuckets(
  b: ExpBucketsData,
  scale: number,
  weight: number,
  bounds: readonly number[],
  cum: Float64Array,
  add: (a: number, x: number) => number,
): void {
  const per = 2 ** b.scale;
  for (let k = 0; k < bounds.length; k++) {
    const le = bounds[k]! / scale;
    let c = 0;
    if (le >= 0) {
      for (let j = 0; j < b.neg.length; j++) c += b.neg[j]!;
      c += b.zero;
      if (le > 0) {
        const x = Math.log2(le) * per; // the bound's position in bucket units
        for (let j = 0; j < b.pos.length; j++) {
          const n = b.pos[j]!;
          if (n === 0) continue;
          const i = b.posBase + j;
          if (i + 1 <= x) c += n;
          else if (i < x) c += n * (x - i);
          else break;
        }
      }
    } else {
      const x = Math.log2(-le) * per;
      for (let j = 0; j < b.neg.length; j++) {
        const n = b.neg[j]!;
        const i = b.negBase + j;
        if (i >= x) c += n;
        else if (i + 1 > x) c += n * (i + 1 - x);
      }
    }
    cum[k] = add(cum[k]!, Math.round(c) * weight);
  }
}
