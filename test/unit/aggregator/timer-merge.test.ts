/**
 * The primary's merge of workers' timer histograms (issue 10): every source's parts are held until
 * all are in, then each histogram is sized once for the whole range at its final scale
 * (ExpHistogram.reserveMerge, stores/timer-merge.ts). The buckets and figures must be those of the
 * part-by-part merge (what the primary did before), and the bucket arrays allocated once.
 */
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/aggregator.js';
import { type ExpBucketsData, ExpHistogram, indexAtMaxScale, MAX_SCALE } from '../../../src/aggregator/exphist.js';
import { mergePartials, type PartialVisitor, SourceTotals } from '../../../src/aggregator/merge.js';
import { seededRandom } from '../../../src/aggregator/reservoir.js';
import { decodePartial, PartialDictionary, PartialEncoder } from '../../../src/cluster/protocol.js';
import { WorkerAggregator } from '../../../src/cluster/worker.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { Sample } from '../../../src/parser/types.js';
import { makeAggregator, send, testConfig } from './helpers.js';

function logNormal(random: () => number, mu: number, sigma: number): number {
  const u = 1 - random();
  return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()));
}

function filled(values: number[], maxBuckets: number): ExpBucketsData {
  const h = new ExpHistogram(maxBuckets);
  for (const v of values) h.add(v);
  h.trim();
  return h.data();
}

/** The used buckets by index, and the scale and zero count: what every figure is read from. */
function buckets(h: ExpHistogram): { scale: number; zero: number; pos: number[][]; neg: number[][] } {
  const side = (b: ExpHistogram['pos']) => Array.from(b.counts, (c, k) => [b.base + k, c]).filter(([, c]) => c! > 0);
  return { scale: h.scale, zero: h.zero, pos: side(h.pos), neg: side(h.neg) };
}

/** reserveMerge over the parts' ranges (what stores/timer-merge.ts does), then the parts. */
function mergedOnce(parts: ExpBucketsData[], values: number[], maxBuckets: number): ExpHistogram {
  const h = new ExpHistogram(maxBuckets);
  let scale = MAX_SCALE;
  const r = { posLo: Infinity, posHi: -Infinity, negLo: Infinity, negHi: -Infinity };
  const at = (sign: 'pos' | 'neg', lo: number, hi: number) => {
    r[`${sign}Lo`] = Math.min(r[`${sign}Lo`], lo);
    r[`${sign}Hi`] = Math.max(r[`${sign}Hi`], hi);
  };
  for (const p of parts) {
    scale = Math.min(scale, p.scale);
    const up = MAX_SCALE - p.scale;
    if (p.pos.length > 0) at('pos', p.posBase << up, (p.posBase + p.pos.length - 1) << up);
    if (p.neg.length > 0) at('neg', p.negBase << up, (p.negBase + p.neg.length - 1) << up);
  }
  for (const v of values) if (v !== 0) at(v > 0 ? 'pos' : 'neg', indexAtMaxScale(Math.abs(v)), indexAtMaxScale(Math.abs(v)));
  h.reserveMerge(scale, r.posLo, r.posHi, r.negLo, r.negHi);
  const pos = h.pos.counts;
  const neg = h.neg.counts;
  for (const v of values) h.add(v);
  for (const p of parts) h.merge(p);
  expect(h.pos.counts).toBe(pos); // no regrowth after the reservation
  expect(h.neg.counts).toBe(neg);
  return h;
}

describe('ExpHistogram.reserveMerge', () => {
  it('parts at different scales: the buckets and scale of the part-by-part merge, arrays allocated once', () => {
    const random = seededRandom(21);
    const max = 2048;
    const narrow = Array.from({ length: 4000 }, () => logNormal(random, 2, 0.2)); // scale 6
    const wide = Array.from({ length: 4000 }, () => logNormal(random, 2, 4)); // a lower scale
    const negs = Array.from({ length: 500 }, () => -logNormal(random, 1, 1.5));
    const held = [3.5, 0, 1e-3, -2, 700]; // values merged as values (a reservoir still exact)
    const parts = [filled(narrow, max), filled([...wide, ...negs, 0, 0], max), filled(narrow.slice(0, 100), max)];
    expect(parts[1]!.scale).toBeLessThan(parts[0]!.scale);

    const before = new ExpHistogram(max);
    for (const v of held) before.add(v);
    for (const p of parts) before.merge(p);
    const once = mergedOnce(parts, held, max);
    expect(buckets(once)).toEqual(buckets(before));
    expect(once.arraysAllocated).toBe(2); // one per sign
    expect(before.arraysAllocated).toBeGreaterThan(2);
  });

  it('a range wider than maxBuckets at every part scale: the scale the merge reaches, not coarser', () => {
    const random = seededRandom(22);
    const max = 64;
    const a = Array.from({ length: 3000 }, () => logNormal(random, 0, 1)); // ~e^±4: fits 64 buckets at scale 2 or 3
    const b = Array.from({ length: 3000 }, () => logNormal(random, 12, 1)); // far above: together they need a lower scale
    const parts = [filled(a, max), filled(b, max)];
    const before = new ExpHistogram(max);
    for (const p of parts) before.merge(p);
    expect(before.scale).toBeLessThan(Math.min(parts[0]!.scale, parts[1]!.scale));
    const once = mergedOnce(parts, [], max);
    expect(buckets(once)).toEqual(buckets(before));
    expect(once.arraysAllocated).toBe(1);
  });

  it('a pooled histogram (a window already large enough) allocates nothing', () => {
    const random = seededRandom(23);
    const parts = [
      filled(
        Array.from({ length: 2000 }, () => logNormal(random, 3, 1)),
        2048,
      ),
    ];
    const h = mergedOnce(parts, [], 2048);
    const n = h.arraysAllocated;
    h.reset();
    const parts2 = [
      filled(
        Array.from({ length: 2000 }, () => logNormal(random, 5, 0.5)),
        2048,
      ),
    ];
    const pos = h.pos.counts;
    const r = parts2[0]!;
    h.reserveMerge(r.scale, r.posBase << (MAX_SCALE - r.scale), (r.posBase + r.pos.length - 1) << (MAX_SCALE - r.scale), 0, -1);
    h.merge(r);
    expect(h.pos.counts).toBe(pos);
    expect(h.arraysAllocated).toBe(n);
  });
});

/** A worker: its aggregator, encoder and the primary's view of it. */
class Worker {
  readonly w: WorkerAggregator;
  readonly enc = new PartialEncoder();
  readonly dict = new PartialDictionary();
  readonly totals = new SourceTotals();
  private readonly scratch = new Sample();
  constructor(config: TallydConfig, seed: number) {
    this.w = new WorkerAggregator(config, { random: seededRandom(seed) });
  }
  send(text: string): void {
    const buf = Buffer.from(text);
    this.w.countPacket(parsePacket(buf, 0, buf.length, this.w, this.scratch));
  }
  partial(): Buffer {
    this.w.exportTo(this.enc);
    return this.enc.finish();
  }
}

/** The timers' histograms a partial carries, by key. */
function partsOf(buf: Buffer): Map<string, ExpBucketsData> {
  const out = new Map<string, ExpBucketsData>();
  const v = {
    own() {},
    counter() {},
    gauge() {},
    set() {},
    timer(key, _c, _n, _s, _q, _min, _max, _samples, _hist, exp) {
      if (exp !== null) out.set(key.id, exp);
    },
  } satisfies PartialVisitor;
  decodePartial(buf, new PartialDictionary(), v);
  return out;
}

function liveHistograms(agg: Aggregator): ExpHistogram[] {
  return (agg as unknown as { timers: { expLive: ExpHistogram[] } }).timers.expLive;
}

describe('the primary merging workers past their reservoirs', () => {
  it("same buckets and figures as the part-by-part merge and as one process; each key's buckets allocated once", () => {
    // (no negative threshold: its sum_squares is the total's minus the rest, and the total's rounding depends on the order
    // the workers' exact sums are added in, as it did before)
    const config = testConfig({ reservoirSize: 128, percentThreshold: [50, 90, 99, 99.9] });
    const single = makeAggregator(config, { random: seededRandom(1) });
    const primary = makeAggregator(config, { random: seededRandom(2) });
    const workers = [new Worker(config, 3), new Worker(config, 4), new Worker(config, 5)];
    const random = seededRandom(6);
    for (let i = 0; i < 9000; i++) {
      const k = i % 3;
      // worker 0 narrow (scale 6), worker 1 wide (a lower scale), worker 2 far above both; values multiples of 1/8 (exact sums)
      const raw = k === 0 ? logNormal(random, 3, 0.3) : k === 1 ? logNormal(random, 12, 3.5) : logNormal(random, 9, 0.5);
      const line = `lat:${Math.max(1, Math.round(raw * 8)) / 8}|ms${i < 100 ? `\nfit:${i}|ms` : ''}`;
      send(single, line);
      workers[k]!.send(line);
    }
    const bufs = workers.map((w) => w.partial());
    const parts = bufs.map((b) => partsOf(b).get('lat')!);
    expect(new Set(parts.map((p) => p.scale)).size).toBeGreaterThan(1);
    const before = new ExpHistogram(config.timerHistogramMaxBuckets);
    for (const p of parts) before.merge(p);

    mergePartials(
      primary,
      workers.map((w, i) => ({ totals: w.totals, feed: (v) => decodePartial(bufs[i]!, w.dict, v) })),
    );
    const live = liveHistograms(primary);
    expect(live.length).toBe(1); // 'lat' only ('fit' stays a reservoir)
    expect(buckets(live[0]!)).toEqual(buckets(before));
    expect(live[0]!.arraysAllocated).toBe(1);
    expect(before.arraysAllocated).toBeGreaterThan(1);

    const merged = primary.flush(10_000).timers.find((t) => t.key.id === 'lat')!;
    const one = single.flush(10_000).timers.find((t) => t.key.id === 'lat')!;
    expect(merged.buckets?.scale).toBe(before.scale);
    expect(merged.percentiles).toEqual(one.percentiles);
    expect(merged.median).toBe(one.median);
    expect(merged.sum).toBe(one.sum);
  });
});
