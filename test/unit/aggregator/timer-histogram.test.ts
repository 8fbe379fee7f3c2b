/**
 * Timers past their reservoir: the hand-off to the exponential histogram, the figures read from it,
 * its memory and its reuse (issue 10).
 */
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/index.js';
import { seededRandom } from '../../../src/aggregator/reservoir.js';
import type { TimerStat } from '../../../src/aggregator/snapshot.js';
import { feedTimer, makeAggregator, pct, timer } from './helpers.js';

function logNormal(random: () => number, sigma: number): number {
  const u = 1 - random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.exp(3 + sigma * z);
}

/** The original's figures, from every value sorted (lib/process_metrics.js). */
function original(values: ArrayLike<number>, thresholds: number[]) {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  const mid = Math.floor(n / 2);
  const out: Record<string, number> = { median: n % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2 };
  for (const p of thresholds) {
    const num = Math.round((Math.abs(p) / 100) * n);
    const suffix = String(p).replace('.', '_').replace('-', 'top');
    let sum = 0;
    let sq = 0;
    const from = p > 0 ? 0 : n - num;
    for (let i = from; i < from + num; i++) {
      sum += v[i]!;
      sq += v[i]! * v[i]!;
    }
    out[`count_${suffix}`] = num;
    out[`${p > 0 ? 'upper' : 'lower'}_${suffix}`] = p > 0 ? v[num - 1]! : v[n - num]!;
    out[`sum_${suffix}`] = sum;
    out[`mean_${suffix}`] = sum / num;
    out[`sum_squares_${suffix}`] = sq;
  }
  return out;
}

function figures(t: TimerStat): Record<string, number> {
  const out: Record<string, number> = { median: t.median };
  for (const p of t.percentiles) {
    out[`count_${p.suffix}`] = p.count;
    out[`${p.threshold > 0 ? 'upper' : 'lower'}_${p.suffix}`] = p.bound;
    out[`sum_${p.suffix}`] = p.sum;
    out[`mean_${p.suffix}`] = p.mean;
    out[`sum_squares_${p.suffix}`] = p.sumSquares;
  }
  return out;
}

function expectWithin(got: Record<string, number>, want: Record<string, number>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, w] of Object.entries(want)) {
    const bound = k.startsWith('sum_squares') ? 0.02 : k.startsWith('count') ? 0 : 0.01;
    const rel = Math.abs(got[k]! - w) / Math.abs(w);
    expect(rel, `${k}: ${got[k]} vs ${w}`).toBeLessThanOrEqual(bound);
  }
}

const internals = (agg: Aggregator) =>
  agg as unknown as { expPool: unknown[]; timers: { expOf(slot: number): unknown; idx: { byId: Map<string, number> } } };

describe('timer histogram', () => {
  const thresholds = [50, 90, 95, 99, 99.9, -10];

  it('hands off at exactly reservoirSize + 1 values: the held values first', () => {
    const values = Array.from({ length: 17 }, (_, i) => 100 + ((i * 7) % 17));
    const exactAgg = makeAggregator({ reservoirSize: 16, percentThreshold: thresholds });
    feedTimer(exactAgg, 't', values.slice(0, 16));
    const e = timer(exactAgg.flush(0), 't')!;
    expect(e.exact).toBe(true);
    expect(e.buckets ?? null).toBeNull();
    expect(e.samples.length).toBe(16);
    expect(figures(e)).toEqual(original(values.slice(0, 16), thresholds));

    const agg = makeAggregator({ reservoirSize: 16, percentThreshold: thresholds });
    feedTimer(agg, 't', values);
    const slot = internals(agg).timers.idx.byId.get('t')!;
    expect(internals(agg).timers.expOf(slot)).not.toBeNull();
    const t = timer(agg.flush(0), 't')!;
    expect(t.exact).toBe(false);
    expect(t.samples.length).toBe(0);
    const b = t.buckets!;
    let inBuckets = b.zero;
    for (let k = 0; k < b.pos.length; k++) inBuckets += b.pos[k]!;
    expect(inBuckets).toBe(17); // the 16 held values and the 17th
    expect(b.scale).toBe(6);
    expect(t.n).toBe(17);
    expect([t.lower, t.upper, t.sum]).toEqual([100, 116, values.reduce((a, x) => a + x, 0)]);
    expectWithin(figures(t), original(values, thresholds));
  });

  it.each([
    ['log-normal σ 0.8', 0.8],
    ['log-normal σ 1.5', 1.5],
  ])("200,000 values (%s): every figure within 1 % (sum_squares_N 2 %) of the original's", (_name, sigma) => {
    const random = seededRandom(17);
    const values = Float64Array.from({ length: 200_000 }, () => logNormal(random, sigma));
    const agg = makeAggregator({ percentThreshold: thresholds });
    feedTimer(agg, 't', values);
    const t = timer(agg.flush(0), 't')!;
    expect(t.buckets!.scale).toBe(6);
    expectWithin(figures(t), original(values, thresholds));
  });

  it('integer milliseconds with many ties', () => {
    const random = seededRandom(5);
    const values = Float64Array.from({ length: 50_000 }, () => Math.round(logNormal(random, 0.6) / 4));
    const agg = makeAggregator({ percentThreshold: thresholds });
    feedTimer(agg, 't', values);
    const t = timer(agg.flush(0), 't')!;
    expect(t.buckets!.zero).toBeGreaterThan(0);
    expectWithin(figures(t), original(values, thresholds));
  });

  it('timerHistogram: false keeps the pure reservoir sample', () => {
    const agg = makeAggregator({ reservoirSize: 64, timerHistogram: false });
    feedTimer(
      agg,
      't',
      Array.from({ length: 1000 }, (_, i) => i),
    );
    const t = timer(agg.flush(0), 't')!;
    expect(t.buckets ?? null).toBeNull();
    expect(t.samples.length).toBe(64);
    expect(internals(agg).expPool.length).toBe(0);
  });

  it('timerHistogramMaxBuckets bounds the buckets: the scale drops, the tail stays', () => {
    const agg = makeAggregator({ reservoirSize: 16, timerHistogramMaxBuckets: 64, percentThreshold: [50, 99] });
    const values = Array.from({ length: 1000 }, (_, i) => 2 ** (i / 50)); // 20 octaves
    feedTimer(agg, 't', values);
    const t = timer(agg.flush(0), 't')!;
    expect(t.buckets!.scale).toBeLessThanOrEqual(1);
    expect(t.buckets!.pos.length).toBeLessThanOrEqual(64);
    expect(t.upper).toBe(values[999]);
    // p99 within the (coarser) bucket's relative width, and not lost off the top
    expect(pct(t, '99')!.bound / values[989]!).toBeGreaterThan(0.7);
    expect(pct(t, '99')!.bound / values[989]!).toBeLessThan(1.42);
  });

  it('reuses histograms across intervals and keys (pooled), and allocates none for timers that fit', () => {
    const agg = makeAggregator({ reservoirSize: 32 });
    const big = Array.from({ length: 500 }, (_, i) => i + 1);
    feedTimer(agg, 'a', big);
    feedTimer(agg, 'small', [1, 2, 3]);
    const slotA = internals(agg).timers.idx.byId.get('a')!;
    const first = internals(agg).timers.expOf(slotA);
    expect(internals(agg).timers.expOf(internals(agg).timers.idx.byId.get('small')!)).toBeNull();
    agg.flush(0);
    expect(internals(agg).expPool).toContain(first);
    // next interval, another key overflows: it gets the same histogram back, emptied
    feedTimer(agg, 'b', big);
    const slotB = internals(agg).timers.idx.byId.get('b')!;
    expect(internals(agg).timers.expOf(slotB)).toBe(first);
    const t = timer(agg.flush(1000), 'b')!;
    let inBuckets = 0;
    for (let k = 0; k < t.buckets!.pos.length; k++) inBuckets += t.buckets!.pos[k]!;
    expect(inBuckets).toBe(500);
    expect(timer(agg.flush(2000), 'a')!.n).toBe(0);
  });

  it('histogram bins (the `histogram` setting) stay exact past the reservoir: counted at ingest', () => {
    const bins = [5, 10, 20, 40, Infinity];
    const agg = makeAggregator({ reservoirSize: 16, histogram: [{ metric: 'lat', bins }] });
    const random = seededRandom(12);
    const values = Array.from({ length: 5000 }, () => Math.round(logNormal(random, 0.8)));
    feedTimer(agg, 'lat', values);
    const t = timer(agg.flush(0), 'lat')!;
    expect(t.buckets).toBeTruthy();
    const exact = bins.map((b, i) => values.filter((v) => v < b && (i === 0 || v >= bins[i - 1]!)).length);
    expect(t.histogram!.counts).toEqual(exact);
  });

  it('le bounds a backend asks for are counted exactly at ingest; live keys are asked again from the next interval', () => {
    const agg = makeAggregator({ reservoirSize: 16 });
    feedTimer(agg, 'early', [1, 2]); // exists before the bounds are set
    agg.setTimerBounds((k) => (k.id === 'nope' ? null : Float64Array.of(5, 10, 20)));
    const random = seededRandom(13);
    const values = Array.from({ length: 5000 }, () => Math.round(logNormal(random, 0.8) / 2));
    feedTimer(agg, 'lat', values);
    feedTimer(agg, 'nope', values);
    let snap = agg.flush(0);
    const t = timer(snap, 'lat')!;
    expect(t.buckets).toBeTruthy();
    const want = [5, 10, 20].map((b, i, a) => values.filter((v) => v <= b && (i === 0 || v > a[i - 1]!)).length);
    expect(Array.from(t.le!.counts)).toEqual(want);
    expect(timer(snap, 'nope')!.le ?? null).toBeNull();
    expect(timer(snap, 'early')!.le ?? null).toBeNull(); // (its interval began before)
    feedTimer(agg, 'early', [5, 6, 30]);
    snap = agg.flush(1000);
    expect(Array.from(timer(snap, 'early')!.le!.counts)).toEqual([1, 1, 0]);
  });

  it('memory: 1M values cost the reservoir plus at most 8 KB of histogram', () => {
    const agg = makeAggregator({ reservoirSize: 1024, percentThreshold: thresholds });
    const random = seededRandom(2);
    const values = Float64Array.from({ length: 1_000_000 }, () => logNormal(random, 1.5));
    feedTimer(agg, 'hot', values);
    const slot = internals(agg).timers.idx.byId.get('hot')!;
    const h = internals(agg).timers.expOf(slot) as { bytes(): number };
    expect(h.bytes()).toBeLessThanOrEqual(8192);
    const t = timer(agg.flush(0), 'hot')!;
    expect(t.n).toBe(1_000_000);
    expectWithin(figures(t), original(values, thresholds));
  });
});
