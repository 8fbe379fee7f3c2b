import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/index.js';
import { reservoirValues, seededRandom } from '../../../src/aggregator/index.js';
import { feedTimer, makeAggregator, pct, timer } from './helpers.js';

/** Brute force, straight from the description of the original: sort everything, index into it. */
function bruteForce(values: number[], thresholds: number[]) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const sumOf = (a: number[]) => a.reduce((s, x) => s + x, 0);
  const sum = sumOf(v);
  const mean = sum / n;
  const out = {
    lower: v[0],
    upper: v[n - 1],
    sum,
    sumSquares: sumOf(v.map((x) => x * x)),
    mean,
    median: n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1]! + v[n / 2]!) / 2,
    std: Math.sqrt(sumOf(v.map((x) => (x - mean) * (x - mean))) / n),
    pcts: [] as { count: number; bound: number; sum: number; mean: number }[],
  };
  for (const p of thresholds) {
    const num = n > 1 ? Math.round((Math.abs(p) / 100) * n) : n;
    if (num === 0) continue;
    const part = p > 0 ? v.slice(0, num) : v.slice(n - num);
    const s = sumOf(part);
    out.pcts.push({ count: num, bound: p > 0 ? part[num - 1]! : part[0]!, sum: s, mean: s / num });
  }
  return out;
}

function logNormal(random: () => number, sigma = 0.5): number {
  // Box-Muller
  const u = 1 - random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.exp(3 + sigma * z);
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

describe('reservoir', () => {
  // Algorithm R through Aggregator.sample, the code production runs (its addTimer/pastReservoir)
  const resOf = (agg: Aggregator, id: string): Float64Array => {
    const internals = agg as unknown as { timers: { res: Float64Array[]; idx: { byId: Map<string, number> } } };
    return internals.timers.res[internals.timers.idx.byId.get(id)!]!;
  };

  it('Algorithm R: first `size` values stored in order, lazily grown 16 → 32 → …', () => {
    const agg = makeAggregator({ reservoirSize: 1024, timerHistogram: false });
    feedTimer(agg, 't', [1, 2, 3]);
    expect(resOf(agg, 't').length).toBe(16);
    expect(Array.from(reservoirValues(resOf(agg, 't'), 3, 1024))).toEqual([1, 2, 3]);
    feedTimer(
      agg,
      't',
      Array.from({ length: 37 }, (_, i) => i + 4),
    );
    expect(resOf(agg, 't').length).toBe(64);
    expect(Array.from(reservoirValues(resOf(agg, 't'), 40, 1024))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // capped at size; past it, value number i + 1 replaces slot floor(random · (i + 1)) when that is < size
    let r = 0.99;
    const small = makeAggregator({ reservoirSize: 20, timerHistogram: false }, { random: () => r });
    feedTimer(
      small,
      's',
      Array.from({ length: 30 }, (_, i) => i),
    );
    expect(resOf(small, 's').length).toBe(20);
    // j = floor(0.99 · 21..30) ≥ 20: never replaced
    expect(Array.from(resOf(small, 's'))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // j = floor(0.5 · 31) = 15, then j = 0: replaces those slots
    r = 0.5;
    feedTimer(small, 's', [130]);
    expect(resOf(small, 's')[15]).toBe(130);
    r = 0;
    feedTimer(small, 's', [131, 132, 133, 134]);
    expect(resOf(small, 's')[0]).toBe(134);
    expect(timer(small.flush(0), 's')!.n).toBe(35);
  });

  it('Algorithm R with the built-in RNG (no injected one): a uniform sample of the interval', () => {
    // 300 intervals of 2,000 values 0..1999 into 16 slots: each kept value is uniform over 0..1999, so
    // the mean of the 4,800 kept values is 999.5 with a standard error of about 577 / √4800 ≈ 8.3
    const agg = makeAggregator({ reservoirSize: 16, timerHistogram: false });
    const values = Array.from({ length: 2000 }, (_, i) => i);
    let sum = 0;
    let n = 0;
    let late = 0;
    for (let k = 0; k < 300; k++) {
      feedTimer(agg, 't', values);
      const t = timer(agg.flush(k), 't')!;
      expect(t.samples.length).toBe(16);
      for (const v of t.samples) {
        sum += v;
        n++;
        if (v >= 1000) late++;
      }
    }
    expect(Math.abs(sum / n - 999.5)).toBeLessThan(50); // 6 standard errors
    expect(Math.abs(late / n - 0.5)).toBeLessThan(0.05); // as many from the second half as from the first
  });

  it('exact results equal a brute-force computation whenever n <= size', () => {
    const thresholds = [90, -10, 99.9, 50, -1, 1];
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 }),
        (values) => {
          const agg = makeAggregator({ percentThreshold: thresholds, reservoirSize: 64 });
          feedTimer(agg, 't', values);
          const t = timer(agg.flush(0), 't')!;
          const want = bruteForce(values, thresholds);
          expect(t.exact).toBe(true);
          expect(t.lower).toBe(want.lower);
          expect(t.upper).toBe(want.upper);
          expect(t.median).toBe(want.median);
          expect(t.sum).toBeCloseTo(want.sum, 6);
          expect(t.mean).toBeCloseTo(want.mean, 6);
          expect(t.std).toBeCloseTo(want.std, 4);
          expect(t.percentiles.map((p) => [p.count, p.bound])).toEqual(want.pcts.map((p) => [p.count, p.bound]));
          t.percentiles.forEach((p, i) => {
            expect(p.sum).toBeCloseTo(want.pcts[i]!.sum, 4);
            expect(p.mean).toBeCloseTo(want.pcts[i]!.mean, 4);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  // (the pure reservoir: timerHistogram off; with it on, see timer-histogram.test.ts)
  it('n = 100k log-normal, size 1024: p50/p90 within a few percent; count/sum/min/max/mean exact', () => {
    const random = seededRandom(42);
    const values = new Float64Array(100_000);
    for (let i = 0; i < values.length; i++) values[i] = logNormal(random);
    const agg = makeAggregator(
      { percentThreshold: [50, 90, -10], reservoirSize: 1024, timerHistogram: false },
      { random: seededRandom(1) },
    );
    feedTimer(agg, 't', values);
    const t = timer(agg.flush(0), 't')!;
    const sorted = values.slice().sort();
    let sum = 0;
    let sq = 0;
    for (const v of values) {
      sum += v;
      sq += v * v;
    }
    expect(t.exact).toBe(false);
    expect(t.samples.length).toBe(1024);
    expect(t.n).toBe(100_000);
    expect(t.count).toBe(100_000);
    expect(t.lower).toBe(sorted[0]);
    expect(t.upper).toBe(sorted[sorted.length - 1]);
    expect(t.sum).toBe(sum); // running sum in arrival order: the same additions
    expect(t.sumSquares).toBe(sq);
    expect(t.mean).toBe(sum / 100_000);
    const exactStd = Math.sqrt(sq / 1e5 - (sum / 1e5) ** 2);
    expect(t.std).toBeCloseTo(exactStd, 6);

    const rel = (a: number, b: number) => Math.abs(a - b) / b;
    const p50 = pct(t, '50')!;
    const p90 = pct(t, '90')!;
    expect(p50.count).toBe(50_000); // count_N is scaled to the true n
    expect(p90.count).toBe(90_000);
    expect(pct(t, 'top10')!.count).toBe(10_000);

    // Sampling error of a quantile from m = 1024 values, σ = 0.5: about 2% (p50) and 2.7% (p90)
    // standard error; over 5 seeds the median error must be a few percent, the worst within 4 SE.
    let exactSum90 = 0;
    for (let i = 0; i < 90_000; i++) exactSum90 += sorted[i]!;
    const errs = { p50: [] as number[], p90: [] as number[], median: [] as number[], sum90: [] as number[], top10: [] as number[] };
    for (let seed = 1; seed <= 5; seed++) {
      const a = makeAggregator(
        { percentThreshold: [50, 90, -10], reservoirSize: 1024, timerHistogram: false },
        { random: seededRandom(seed) },
      );
      feedTimer(a, 't', values);
      const ts = timer(a.flush(0), 't')!;
      errs.p50.push(rel(pct(ts, '50')!.bound, sorted[49_999]!));
      errs.p90.push(rel(pct(ts, '90')!.bound, sorted[89_999]!));
      errs.median.push(rel(ts.median, (sorted[49_999]! + sorted[50_000]!) / 2));
      errs.sum90.push(rel(pct(ts, '90')!.sum, exactSum90));
      errs.top10.push(rel(pct(ts, 'top10')!.bound, sorted[90_000]!));
    }
    for (const [name, e] of Object.entries(errs)) {
      expect(median(e), name).toBeLessThan(0.04);
      expect(Math.max(...e), name).toBeLessThan(0.12);
    }
  });

  it('memory: a timer with 3 values holds a small reservoir; the values are dumped', () => {
    const agg = makeAggregator({ reservoirSize: 4096 });
    feedTimer(agg, 'small', [3, 1, 2]);
    feedTimer(
      agg,
      'big',
      Array.from({ length: 5000 }, (_, i) => i),
    );
    const internals = agg as unknown as { timers: { res: Float64Array[]; idx: { byId: Map<string, number> } } };
    const slotOf = (id: string) => internals.timers.idx.byId.get(id)!;
    expect(internals.timers.res[slotOf('small')]!.length).toBe(16);
    expect(internals.timers.res[slotOf('big')]!.length).toBe(4096);
    expect(agg.dump('timers')['small']).toEqual([3, 1, 2]);
    expect((agg.dump('timers')['big'] as number[]).length).toBe(4096);
  });

  it('memory: a timer receiving 1M values in one interval holds only its reservoir, and its figures stay exact', () => {
    const agg = makeAggregator({ reservoirSize: 1024, timerHistogram: false });
    const values = new Float64Array(1_000_000);
    for (let i = 0; i < values.length; i++) values[i] = (i * 7919) % 1000;
    const heapBefore = process.memoryUsage().arrayBuffers;
    feedTimer(agg, 'hot', values);
    const internals = agg as unknown as { timers: { res: Float64Array[]; idx: { byId: Map<string, number> } } };
    const slot = internals.timers.idx.byId.get('hot')!;
    expect(internals.timers.res[slot]!.length).toBe(1024); // 8 KiB, whatever the number of values
    // nothing else grew with the values (a list of 1M values would be 8 MB)
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(1_000_000);
    const t = timer(agg.flush(0), 'hot')!;
    expect(t.n).toBe(1_000_000);
    expect(t.samples.length).toBe(1024);
    expect(t.lower).toBe(0);
    expect(t.upper).toBe(999);
  });

  it('the RNG is injectable: the same seed gives the same sample', () => {
    const run = () => {
      const agg = makeAggregator({ reservoirSize: 16, timerHistogram: false }, { random: seededRandom(9) });
      feedTimer(
        agg,
        't',
        Array.from({ length: 1000 }, (_, i) => i),
      );
      return Array.from(timer(agg.flush(0), 't')!.samples);
    };
    const a = run();
    expect(a).toHaveLength(16);
    expect(run()).toEqual(a);
  });
});
