import { describe, expect, it } from 'vitest';
import {
  bucketIndex,
  bucketLower,
  bucketMidpoint,
  ExpHistogram,
  indexAtMaxScale,
  MAX_SCALE,
  RankReader,
} from '../../../src/aggregator/exphist.js';
import { Cumulative, compileThresholds, summarize, summarizeHistogram, TimerSummary } from '../../../src/aggregator/percentiles.js';
import { seededRandom } from '../../../src/aggregator/reservoir.js';

/** The next double above / below x > 0. */
function nextUp(x: number): number {
  const f = new Float64Array([x]);
  const b = new BigUint64Array(f.buffer);
  b[0]! += 1n;
  return f[0]!;
}
function nextDown(x: number): number {
  const f = new Float64Array([x]);
  const b = new BigUint64Array(f.buffer);
  b[0]! -= 1n;
  return f[0]!;
}

/** Reference: the histogram a value-by-value count at `scale` gives (index → count), by sign. */
function reference(values: number[], scale: number): { pos: Map<number, number>; neg: Map<number, number>; zero: number } {
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  let zero = 0;
  for (const v of values) {
    if (v === 0) zero++;
    else {
      const m = v > 0 ? pos : neg;
      const i = bucketIndex(Math.abs(v), scale);
      m.set(i, (m.get(i) ?? 0) + 1);
    }
  }
  return { pos, neg, zero };
}

function contents(h: ExpHistogram): { pos: Map<number, number>; neg: Map<number, number>; zero: number } {
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  h.pos.counts.forEach((c, k) => {
    if (c > 0) pos.set(h.pos.base + k, c);
  });
  h.neg.counts.forEach((c, k) => {
    if (c > 0) neg.set(h.neg.base + k, c);
  });
  return { pos, neg, zero: h.zero };
}

function logNormal(random: () => number, mu: number, sigma: number): number {
  const u = 1 - random();
  const v = random();
  return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

describe('bucket index', () => {
  it('puts a power of two at the top of its bucket (upper bound inclusive)', () => {
    for (let k = -1022; k <= 1023; k += 7) {
      const v = 2 ** k;
      expect(indexAtMaxScale(v)).toBe(k * 64 - 1);
      expect(indexAtMaxScale(nextUp(v))).toBe(k * 64);
      expect(indexAtMaxScale(nextDown(v))).toBe(k * 64 - 1);
    }
    expect(indexAtMaxScale(1)).toBe(-1);
    expect(indexAtMaxScale(2)).toBe(63);
    expect(indexAtMaxScale(0.5)).toBe(-65);
    for (let s = MAX_SCALE; s >= -2; s--) {
      expect(bucketIndex(1, s)).toBe(-1);
      expect(bucketIndex(1024, s)).toBe(Math.ceil(10 * 2 ** s) - 1);
    }
  });

  it('matches ceil(log2(v) × 2^scale) − 1 away from boundaries, and holds v between its bounds', () => {
    const random = seededRandom(7);
    const bad: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = 2 ** (random() * 200 - 100) * (1 + random());
      const idx = indexAtMaxScale(v);
      const ref = Math.ceil(Math.log2(v) * 64) - 1;
      const lo = bucketLower(idx, MAX_SCALE);
      const hi = bucketLower(idx + 1, MAX_SCALE);
      if (!(v > lo * (1 - 1e-14) && v <= hi * (1 + 1e-14))) bad.push(v);
      if (Math.abs(Math.log2(v) * 64 - Math.round(Math.log2(v) * 64)) > 1e-9 && idx !== ref) bad.push(v);
    }
    expect(bad).toEqual([]);
  });

  it('is monotonic across a fine sweep (every boundary of one octave)', () => {
    let prev = indexAtMaxScale(1);
    let bad = 0;
    for (let i = 1; i <= 100_000; i++) {
      const idx = indexAtMaxScale(1 + i / 100_000);
      if (idx !== prev && idx !== prev + 1) bad++;
      prev = idx;
    }
    expect(bad).toBe(0);
    expect(prev).toBe(63);
  });

  it('puts the doubles on either side of every boundary of an octave in the right bucket, at several exponents', () => {
    // 2^(e + j/64) is the upper bound of bucket 64e + j − 1; the boundary is irrational and its double
    // (2 ** x) within an ulp of it, so the doubles two ulps away on each side are on known sides
    const bad: string[] = [];
    for (const e of [-1022, -20, -1, 0, 1, 9, 52, 1000]) {
      for (let j = 1; j < 64; j++) {
        const b = 2 ** (e + j / 64);
        const want = 64 * e + j - 1;
        const below = indexAtMaxScale(nextDown(nextDown(b)));
        const above = indexAtMaxScale(nextUp(nextUp(b)));
        if (below !== want) bad.push(`2^(${e}+${j}/64) below: ${below} (want ${want})`);
        if (above !== want + 1) bad.push(`2^(${e}+${j}/64) above: ${above} (want ${want + 1})`);
      }
      if (indexAtMaxScale(2 ** e) !== 64 * e - 1 || indexAtMaxScale(nextUp(2 ** e)) !== 64 * e) bad.push(`2^${e}`);
    }
    expect(bad).toEqual([]);
  });

  it('handles subnormals, the largest double and Infinity', () => {
    expect(indexAtMaxScale(2 ** -1074)).toBe(-1074 * 64 - 1);
    expect(indexAtMaxScale(2 ** -1073)).toBe(-1073 * 64 - 1);
    expect(indexAtMaxScale(2 ** -1030)).toBe(-1030 * 64 - 1);
    const sub = 3 * 2 ** -1074;
    expect(indexAtMaxScale(sub)).toBe(Math.ceil(Math.log2(sub) * 64) - 1);
    expect(indexAtMaxScale(Number.MAX_VALUE)).toBe(1024 * 64 - 1);
    expect(indexAtMaxScale(Infinity)).toBe(1024 * 64 - 1);
    expect(indexAtMaxScale(2 ** -1022)).toBe(-1022 * 64 - 1);
  });

  it('gives a midpoint within (b − 1)/(b + 1) of both bounds', () => {
    const b = 2 ** (1 / 64);
    const err = (b - 1) / (b + 1);
    for (const i of [-1000, -1, 0, 5, 640]) {
      const m = bucketMidpoint(i, MAX_SCALE);
      expect(m / bucketLower(i, MAX_SCALE) - 1).toBeCloseTo(err, 12);
      expect(1 - m / bucketLower(i + 1, MAX_SCALE)).toBeCloseTo(err, 12);
    }
    expect(err).toBeLessThan(0.0055);
  });
});

describe('ExpHistogram', () => {
  it('keeps positive, negative and zero counts apart', () => {
    const h = new ExpHistogram(64);
    const values = [0, 0, 1, 2, 3, -1, -2.5, -1e-300, 1e300, 0, 5e-324, -5e-324];
    // (1e300 and 1e-300 need more than 64 buckets: the scale drops, nothing is lost)
    for (const v of values) h.add(v);
    expect(h.count()).toBe(values.length);
    expect(h.zero).toBe(3);
    expect(contents(h)).toEqual(reference(values, h.scale));
  });

  it('lowers its scale when the range is too wide, merging neighbours and keeping the tail', () => {
    const h = new ExpHistogram(32);
    const values: number[] = [];
    for (let v = 1; v < 2 ** 20; v *= 1.1) values.push(v);
    for (const v of values) h.add(v);
    // 20 octaves in at most 32 buckets: scale 0 (one bucket per octave)
    expect(h.scale).toBe(0);
    expect(h.count()).toBe(values.length);
    expect(contents(h)).toEqual(reference(values, h.scale));
    h.trim();
    expect(h.pos.hi - h.pos.lo + 1).toBeLessThanOrEqual(32);
    expect(h.pos.hi).toBe(bucketIndex(values[values.length - 1]!, h.scale));
  });

  it('stays at scale 6 for a range that fits, and grows its window only as needed', () => {
    const h = new ExpHistogram(2048);
    const random = seededRandom(3);
    const values = Array.from({ length: 50_000 }, () => logNormal(random, 3, 0.8));
    for (const v of values) h.add(v);
    expect(h.scale).toBe(MAX_SCALE);
    expect(h.pos.counts.length).toBeLessThanOrEqual(1024);
    expect(contents(h)).toEqual(reference(values, MAX_SCALE));
  });

  it.each([
    ['fits at scale 6', 2048, 0.8],
    ['lowers the scale', 64, 2.5],
  ])('reserve(min, max) (%s): one window for the range, the same scale and buckets as adding the values', (_name, maxBuckets, sigma) => {
    const random = seededRandom(21);
    const values = Array.from({ length: 5000 }, () => logNormal(random, 3, sigma));
    const plain = new ExpHistogram(maxBuckets);
    for (const v of values) plain.add(v);
    const h = new ExpHistogram(maxBuckets);
    h.reserve(Math.min(...values), Math.max(...values));
    const window = h.pos.counts;
    expect(window.length).toBeGreaterThan(0);
    for (const v of values) h.add(v);
    expect(h.pos.counts).toBe(window); // no regrowth
    expect(h.scale).toBe(plain.scale);
    expect(contents(h)).toEqual(contents(plain));
    expect(contents(h)).toEqual(reference(values, h.scale));
  });

  it('merges histograms of different scales exactly at the lower one', () => {
    const random = seededRandom(11);
    const a = new ExpHistogram(160);
    const b = new ExpHistogram(160);
    const va = Array.from({ length: 5000 }, () => logNormal(random, 2, 0.15)); // narrow: scale 6
    const vb = Array.from({ length: 5000 }, () => logNormal(random, 2, 4)); // wide: a lower scale
    vb.push(0, -3);
    for (const v of va) a.add(v);
    for (const v of vb) b.add(v);
    expect(a.scale).toBe(MAX_SCALE);
    expect(b.scale).toBeLessThan(MAX_SCALE);
    b.trim();
    a.merge(b.data());
    expect(a.scale).toBeLessThanOrEqual(b.scale);
    expect(a.count()).toBe(va.length + vb.length);
    expect(contents(a)).toEqual(reference([...va, ...vb], a.scale));
    // and the other way round gives the same buckets
    const c = new ExpHistogram(160);
    for (const v of vb) c.add(v);
    a.trim();
    const a2 = new ExpHistogram(160);
    for (const v of va) a2.add(v);
    a2.trim();
    c.merge(a2.data());
    expect(c.scale).toBe(a.scale);
    expect(contents(c)).toEqual(contents(a));
  });

  it('is reusable after reset()', () => {
    const h = new ExpHistogram(32);
    for (let v = 1; v < 2 ** 30; v *= 3) h.add(v);
    expect(h.scale).toBeLessThan(MAX_SCALE);
    h.reset();
    expect(h.count()).toBe(0);
    h.add(10);
    h.add(10.5);
    expect(h.scale).toBe(MAX_SCALE);
    expect(contents(h)).toEqual(reference([10, 10.5], MAX_SCALE));
  });
});

describe('nearest-rank figures from the histogram', () => {
  function both(values: number[], pcts: number[]) {
    const sorted = Float64Array.from(values).sort();
    const n = sorted.length;
    let sum = 0;
    let sq = 0;
    for (const v of sorted) {
      sum += v;
      sq += v * v;
    }
    const agg = { n, sum, sumSquares: sq, min: sorted[0]!, max: sorted[n - 1]! };
    const th = compileThresholds(pcts);
    const exact = new TimerSummary();
    summarize(sorted, agg, th, new Cumulative(), exact);
    const h = new ExpHistogram();
    for (const v of values) h.add(v);
    h.trim();
    const reader = new RankReader();
    reader.load(h.data(), agg.min, agg.max);
    const est = new TimerSummary();
    summarizeHistogram(reader, agg, th, est);
    return { exact, est };
  }

  it('takes the mean of the two middle values for an even count, the middle one for an odd count', () => {
    // 1 is the top of its bucket (its midpoint is below, clamped to the exact min), M just above a
    // power of two (its midpoint is above, clamped to the exact max): so these figures are exact
    const M = nextUp(512);
    expect(both([1, 1, M, M], [50]).est.median).toBe((1 + M) / 2);
    expect(both([1, 1, M], [50]).est.median).toBe(1);
    expect(both([1, M, M], [50]).est.median).toBe(M);
    const r = both([1, 1, M, M], [-50, 50, 75]).est;
    // -50: the top 2 (lower_top50 = values[n − 2]); 50: the bottom 2; 75: the bottom 3
    const expected = [2, M, M, 2 * M, 2 * M * M, 2, 1, 1, 2, 2, 3, (2 + M) / 3, M, 2 + M, 2 + M * M];
    const got = Array.from(r.pctV.subarray(0, 15));
    for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 6);
    expect(r.np).toBe(3);
  });

  it.each([
    ['odd', 100_001],
    ['even', 100_000],
  ])('is within the bounds of the exact figures (%s count, negative thresholds too)', (_name, n) => {
    const random = seededRandom(n);
    const values = Array.from({ length: n }, () => logNormal(random, 3, 1));
    const { exact, est } = both(values, [50, 90, 99, 99.9, -10, -1]);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(rel(est.median, exact.median)).toBeLessThan(0.0055);
    expect(est.np).toBe(exact.np);
    for (let j = 0; j < exact.np; j++) {
      const o = j * 5;
      expect(est.pctT[j]).toBe(exact.pctT[j]);
      expect(est.pctV[o]).toBe(exact.pctV[o]); // count_N: exact
      expect(rel(est.pctV[o + 1]!, exact.pctV[o + 1]!)).toBeLessThan(0.0055); // mean_N
      expect(rel(est.pctV[o + 2]!, exact.pctV[o + 2]!)).toBeLessThan(0.0055); // upper_N / lower_topN
      expect(rel(est.pctV[o + 3]!, exact.pctV[o + 3]!)).toBeLessThan(0.0055); // sum_N
      expect(rel(est.pctV[o + 4]!, exact.pctV[o + 4]!)).toBeLessThan(0.011); // sum_squares_N
    }
    // exact from the running aggregates
    expect(est.sum).toBe(exact.sum);
    expect(est.lower).toBe(exact.lower);
    expect(est.upper).toBe(exact.upper);
    expect(rel(est.std, exact.std)).toBeLessThan(1e-9);
  });
});
