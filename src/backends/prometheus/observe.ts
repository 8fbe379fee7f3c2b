/**
 * Summary and histogram computation for the Prometheus backend: how one flush's timer figures
 * (reservoir samples, exact `le` counts from ingest, or the exponential histogram past the reservoir)
 * become a series' cumulative `_sum`, `_count` and buckets, and a summary's quantiles.
 */
import { saturate } from '../../aggregator/finite.js';
import { anyBuckets, histogramBuckets, histogramQuantiles } from './expquantiles.js';
import { addSat, clampFinite, type Series } from './family.js';

/** Reused arrays of the weighted quantiles (several keys feeding one summary series). */
export class QuantileScratch {
  readonly values: number[] = [];
  readonly weights: number[] = [];
  readonly order: number[] = [];
}

/**
 * Folds the timers that fed series `s` in flush `gen` (s.pending) into it: the cumulative `_sum`,
 * `_count` and histogram buckets, and a summary's quantiles of this interval.
 */
export function observe(s: Series, gen: number, scratch: QuantileScratch): void {
  const f = s.family;
  const pending = s.pending;
  for (let i = 0; i < pending.length; i++) {
    const t = pending[i]!;
    const scale = s.pendingScale[i]!;
    // Sample-rate weighting as statsd_exporter (each value counts 1/rate times): count is the
    // weighted count, sum is scaled by count/n (exact when every value had the same rate).
    const count = clampFinite(t.count); // finite, so that 0 × count below is never NaN
    s.count = addSat(s.count, count);
    s.sum = addSat(s.sum, clampFinite(t.sum * scale) * (count / t.n));
    if (f.kind === 'histogram' && t.le != null && sameBounds(t.le.bounds, f.buckets, scale)) {
      // counted exactly at ingest (Aggregator.setTimerBounds): per-bucket counts made cumulative
      const w = count / t.n;
      let acc = 0;
      for (let k = 0; k < f.buckets.length; k++) {
        acc += t.le.counts[k]!;
        s.bucketCounts[k] = addSat(s.bucketCounts[k]!, acc * w);
      }
    } else if (f.kind === 'histogram' && t.buckets != null) {
      // past the reservoir: from the timer's exponential histogram (see expquantiles.ts)
      histogramBuckets(t.buckets, scale, count / t.n, f.buckets, s.bucketCounts, addSat);
    } else if (f.kind === 'histogram') {
      const samples = t.samples;
      const m = samples.length;
      if (m === 0) continue;
      const w = count / m; // each reservoir value stands for count/m values (1 when exact, no rate)
      const bounds = f.buckets;
      let j = 0;
      for (let k = 0; k < bounds.length; k++) {
        const le = bounds[k]!;
        while (j < m && samples[j]! * scale <= le) j++;
        s.bucketCounts[k] = addSat(s.bucketCounts[k]!, j * w);
      }
    }
  }
  if (f.kind === 'summary') quantiles(s, scratch);
  s.gen = gen;
  pending.length = 0;
  s.pendingScale.length = 0;
}

/**
 * Quantiles over this interval's reservoir(s): nearest rank, the value at rank ceil(q·m) − 1 of
 * the sorted sample (no interpolation); with several keys feeding one series, weighted nearest rank.
 */
function quantiles(s: Series, scratch: QuantileScratch): void {
  const qs = s.family.quantiles;
  const out = s.quantileValues;
  if (anyBuckets(s.pending)) {
    // a timer past its reservoir: the same estimator as Graphite's upper_N (expquantiles.ts)
    histogramQuantiles(s.pending, s.pendingScale, qs, out);
    return;
  }
  if (s.pending.length === 1) {
    const samples = s.pending[0]!.samples;
    const scale = s.pendingScale[0]!;
    const m = samples.length;
    for (let k = 0; k < qs.length; k++) {
      if (m === 0) {
        out[k] = NaN;
        continue;
      }
      let idx = Math.ceil(qs[k]! * m) - 1;
      if (idx < 0) idx = 0;
      else if (idx >= m) idx = m - 1;
      out[k] = clampFinite(samples[idx]! * scale);
    }
    return;
  }
  const vals = scratch.values;
  const ws = scratch.weights;
  const idx = scratch.order;
  vals.length = 0;
  ws.length = 0;
  idx.length = 0;
  let total = 0;
  for (let i = 0; i < s.pending.length; i++) {
    const t = s.pending[i]!;
    const scale = s.pendingScale[i]!;
    const m = t.samples.length;
    if (m === 0) continue;
    const w = clampFinite(t.count) / m;
    for (let j = 0; j < m; j++) {
      idx.push(vals.length);
      vals.push(clampFinite(t.samples[j]! * scale));
      ws.push(w);
      total = addSat(total, w);
    }
  }
  idx.sort((a, b) => vals[a]! - vals[b]!);
  for (let k = 0; k < qs.length; k++) {
    if (idx.length === 0) {
      out[k] = NaN;
      continue;
    }
    const target = qs[k]! * total;
    let acc = 0;
    let v = vals[idx[idx.length - 1]!]!;
    for (let j = 0; j < idx.length; j++) {
      acc = addSat(acc, ws[idx[j]!]!);
      if (acc >= target - 1e-9 * total) {
        v = vals[idx[j]!]!;
        break;
      }
    }
    out[k] = saturate(v);
  }
}

/** Whether ms bounds `ms` are the family's `le` bounds at this value scale. */
function sameBounds(ms: Float64Array, le: readonly number[], scale: number): boolean {
  if (ms.length !== le.length) return false;
  for (let k = 0; k < le.length; k++) if (Math.abs(ms[k]! * scale - le[k]!) > 1e-9 * Math.abs(le[k]!)) return false;
  return true;
}
