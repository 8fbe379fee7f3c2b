/**
 * Merge correctness for multi-core ingest: two worker aggregators fed halves of an input, their
 * partials encoded, decoded and merged, must flush what one aggregator fed all of it flushes.
 */
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../../src/aggregator/aggregator.js';
import { mergePartials, mergeReservoir, SourceTotals } from '../../../src/aggregator/merge.js';
import { seededRandom } from '../../../src/aggregator/reservoir.js';
import type { Snapshot, TimerStat } from '../../../src/aggregator/snapshot.js';
import { decodePartial, PartialDictionary, PartialEncoder, PartialFormatError } from '../../../src/cluster/protocol.js';
import { WorkerAggregator } from '../../../src/cluster/worker.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { Sample } from '../../../src/parser/types.js';
import { testConfig } from './helpers.js';

const scratch = new Sample();

/** One simulated worker: its aggregator, encoder, and the primary's view of it. */
class SimWorker {
  readonly w: WorkerAggregator;
  readonly enc = new PartialEncoder();
  readonly dict = new PartialDictionary();
  readonly totals = new SourceTotals();
  constructor(config: TallydConfig, seed: number) {
    this.w = new WorkerAggregator(config, { random: seededRandom(seed) });
  }
  send(text: string): void {
    const buf = Buffer.from(text);
    this.w.countPacket(parsePacket(buf, 0, buf.length, this.w, scratch));
  }
  partial(): Buffer {
    this.w.exportTo(this.enc);
    return this.enc.finish();
  }
}

function sendAll(agg: Aggregator, text: string): void {
  const buf = Buffer.from(text);
  agg.countPacket(parsePacket(buf, 0, buf.length, agg, scratch));
}

/** Flush every worker into the primary, then flush the primary. */
function mergedFlush(primary: Aggregator, workers: SimWorker[], now: number): Snapshot {
  const bufs = workers.map((w) => w.partial());
  mergePartials(
    primary,
    workers.map((w, i) => ({ totals: w.totals, feed: (v) => decodePartial(bufs[i]!, w.dict, v) })),
  );
  return primary.flush(now);
}

const byId = <T extends { key: { id: string } }>(xs: Iterable<T>): Map<string, T> => new Map([...xs].map((x) => [x.key.id, x]));

function exactTimerFields(t: TimerStat): Record<string, number> {
  return { n: t.n, count: t.count, countPs: t.countPs, lower: t.lower, upper: t.upper, sum: t.sum, sumSquares: t.sumSquares, mean: t.mean };
}

/** Both snapshots carry the same keys and exact values; timers' sample-based fields as `exactSamples` says. */
function expectSame(merged: Snapshot, single: Snapshot, exactSamples: boolean): void {
  const mc = byId(merged.counters);
  expect([...mc.keys()].sort()).toEqual(
    single.counters
      .toArray()
      .map((c) => c.key.id)
      .sort(),
  );
  for (const c of single.counters.toArray()) expect(mc.get(c.key.id)!.count, c.key.id).toBe(c.count);
  const mg = byId(merged.gauges);
  expect([...mg.keys()].sort()).toEqual(single.gauges.map((g) => g.key.id).sort());
  for (const g of single.gauges) expect(mg.get(g.key.id)!.value, g.key.id).toBe(g.value);
  const ms = byId(merged.sets);
  expect([...ms.keys()].sort()).toEqual(single.sets.map((s) => s.key.id).sort());
  for (const s of single.sets) expect(ms.get(s.key.id)!.count, s.key.id).toBe(s.count);
  const mt = byId(merged.timers);
  expect([...mt.keys()].sort()).toEqual(single.timers.map((t) => t.key.id).sort());
  for (const t of single.timers) {
    const m = mt.get(t.key.id)!;
    expect(exactTimerFields(m), t.key.id).toEqual(exactTimerFields(t));
    expect(m.histogram?.counts ?? null, t.key.id).toEqual(t.histogram?.counts ?? null);
    if (exactSamples) {
      expect(Array.from(m.samples), t.key.id).toEqual(Array.from(t.samples));
      expect(m.percentiles, t.key.id).toEqual(t.percentiles);
      expect(m.median, t.key.id).toBe(t.median);
    }
  }
}

describe('mergeReservoir', () => {
  it('keeps every value when the union fits', () => {
    const a = new Float64Array([1, 2, 3, 0, 0, 0, 0, 0]);
    const out = mergeReservoir(a, 3, new Float64Array([4, 5]), 2, 16, Math.random);
    expect(Array.from(out.subarray(0, 5))).toEqual([1, 2, 3, 4, 5]);
    const grown = mergeReservoir(new Float64Array([1]), 1, new Float64Array([2, 3, 4]), 3, 16, Math.random);
    expect(Array.from(grown.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(mergeReservoir(new Float64Array(0), 0, new Float64Array([7]), 1, 16, Math.random)[0]).toBe(7);
  });

  it('draws a full reservoir weighted by how many values each side stands for', () => {
    const rnd = seededRandom(7);
    let fromA = 0;
    const rounds = 200;
    for (let r = 0; r < rounds; r++) {
      // A: 100 sampled values standing for 1000 (all < 1); B: 100 standing for 9000 (all >= 1)
      const a = Float64Array.from({ length: 100 }, () => rnd());
      const b = Float64Array.from({ length: 100 }, () => 1 + rnd());
      const out = mergeReservoir(a, 1000, b, 9000, 100, rnd);
      expect(out.length).toBe(100);
      for (const v of out) if (v < 1) fromA++;
    }
    // expected share of A: 1000 / 10000 = 10%
    expect(fromA / (rounds * 100)).toBeGreaterThan(0.09);
    expect(fromA / (rounds * 100)).toBeLessThan(0.11);
  });

  it('never repeats an element', () => {
    const a = Float64Array.from({ length: 64 }, (_, i) => i);
    const b = Float64Array.from({ length: 64 }, (_, i) => 1000 + i);
    const out = mergeReservoir(a, 640, b, 64, 64, seededRandom(3));
    expect(new Set(out).size).toBe(64);
  });
});

describe('two workers merged == one aggregator', () => {
  const over: Partial<TallydConfig> = {
    percentThreshold: [90, -10, 50],
    histogram: [{ metric: 'lat', bins: [10, 50, Infinity] }],
  };

  function run(lines: { worker: 0 | 1; text: string }[], config = testConfig(over)) {
    const single = new Aggregator({ config, random: seededRandom(1) });
    const primary = new Aggregator({ config, random: seededRandom(2) });
    const workers = [new SimWorker(config, 3), new SimWorker(config, 4)];
    for (const l of lines) {
      sendAll(single, l.text);
      workers[l.worker]!.send(l.text);
    }
    return { single, primary, workers };
  }

  it('counters, sets, gauges, timers (exact), own counters and bad lines, over three intervals', () => {
    const input: { worker: 0 | 1; text: string }[] = [];
    for (let i = 0; i < 200; i++) {
      const w = (i % 2) as 0 | 1;
      input.push({
        worker: w,
        text: [
          `hits:${i % 7}|c`,
          `sampled:1|c|@0.1`,
          `lat:${(i * 37) % 100}|ms`,
          `lat.tagged:${i}|ms|#b:2,a:1`,
          `users:u${i % 13}|s`,
          `zero:0|c`,
          i % 10 === 0 ? 'broken line' : `w${w}.only:1|c`,
        ].join('\n'),
      });
    }
    // gauges: one client per gauge goes to one worker (set then deltas); another client's deltas go to the other
    input.push({ worker: 0, text: 'gauge.a:10|g\ngauge.a:+5|g\ngauge.a:-3|g' });
    input.push({ worker: 1, text: 'gauge.a:+1|g' });
    input.push({ worker: 1, text: 'gauge.b:-4|g\ngauge.b:+10|g' }); // deltas on an absent gauge: set, then add
    input.push({ worker: 0, text: 'gauge.c:0|g\ngauge.c:+2|g' }); // a delta on 0 sets
    input.push({ worker: 1, text: 'gauge.d:7|g' });
    const { single, primary, workers } = run(input);
    let merged = mergedFlush(primary, workers, 10_000);
    let one = single.flush(10_000);
    expectSame(merged, one, true);
    expect(byId(merged.gauges).get('gauge.a')!.value).toBe(13);
    expect(byId(merged.counters).get('statsd.bad_lines_seen')!.count).toBe(20);
    expect(byId(merged.counters).get('statsd.packets_received')!.count).toBe(205);
    expect(primary.badLinesSeen).toBe(single.badLinesSeen);
    expect(primary.packetsReceived).toBe(single.packetsReceived);
    expect(primary.linesReceived).toBe(single.linesReceived);
    expect(Array.from(primary.badLinesByReason)).toEqual(Array.from(single.badLinesByReason));

    // second interval: known keys (dictionary already sent) plus a new one; gauges go on from their values
    const second: { worker: 0 | 1; text: string }[] = [
      { worker: 1, text: 'hits:5|c\ngauge.a:+2|g\nnew.key:3|c\nlat:5|ms' },
      { worker: 0, text: 'gauge.d:-7|g\ngauge.d:+1|g' },
    ];
    for (const l of second) {
      sendAll(single, l.text);
      workers[l.worker]!.send(l.text);
    }
    merged = mergedFlush(primary, workers, 20_000);
    one = single.flush(20_000);
    expectSame(merged, one, true);
    expect(byId(merged.gauges).get('gauge.a')!.value).toBe(15);
    expect(byId(merged.counters).get('w0.only')!.count).toBe(0); // idle: still flushed at 0, as one process does

    // an idle interval
    merged = mergedFlush(primary, workers, 30_000);
    one = single.flush(30_000);
    expectSame(merged, one, true);
  });

  it('timers past the reservoir, histogram off: exact count/sum/min/max, close percentile estimates', () => {
    const config = testConfig({ ...over, reservoirSize: 256, timerHistogram: false });
    const input: { worker: 0 | 1; text: string }[] = [];
    // worker 0 gets 3/4 of the values (uniform 0..999), worker 1 a quarter (uniform 1000..1999)
    for (let i = 0; i < 4000; i++) {
      const toOne = i % 4 === 3;
      const v = toOne ? 1000 + ((i * 7919) % 1000) : (i * 7919) % 1000;
      input.push({ worker: toOne ? 1 : 0, text: `big:${v}|ms` });
    }
    const { single, primary, workers } = run(input, config);
    const merged = mergedFlush(primary, workers, 10_000);
    const one = single.flush(10_000);
    expectSame(merged, one, false);
    const m = byId(merged.timers).get('big')!;
    expect(m.samples.length).toBe(256);
    expect(m.exact).toBe(false);
    // true median is ~ 666 (3000 values in 0..999, 1000 in 1000..1999); p90 ~ 1599
    expect(Math.abs(m.median - 666)).toBeLessThan(120);
    expect(Math.abs(m.percentiles[0]!.bound - 1599)).toBeLessThan(120);
    // the share of worker 1's values in the merged sample is close to its share of the values
    const share = Array.from(m.samples).filter((v) => v >= 1000).length / 256;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
  });

  it("timers past the reservoir: histograms merged bucket by bucket give one process's figures exactly", () => {
    // (few buckets: the scales differ between the workers' histograms, values stay small enough for exact sums)
    const config = testConfig({ ...over, reservoirSize: 256, percentThreshold: [50, 90, 99, 99.9, -10], timerHistogramMaxBuckets: 160 });
    const input: { worker: 0 | 1; text: string }[] = [];
    const random = seededRandom(5);
    // 'big': both workers past their reservoirs; 'mixed': worker 0 past it, worker 1 still exact
    // (its values merged as values); 'sum': neither is, the union is (the primary's hand-off);
    // 'wide': worker 1's range lowers its scale (a merge at two scales)
    for (let i = 0; i < 6000; i++) {
      // (multiples of 1/8: sums exact whatever the order of the additions)
      const v = Math.round(Math.exp(3 + 0.8 * (random() + random() + random() - 1.5) * 2) * 8) / 8;
      input.push({ worker: i % 3 === 0 ? 1 : 0, text: `big:${v}|ms` });
      if (i < 1000) input.push({ worker: i < 900 ? 0 : 1, text: `mixed:${v}|ms` });
      if (i < 400) input.push({ worker: (i % 2) as 0 | 1, text: `sum:${v}|ms` });
      if (i < 2000) input.push({ worker: (i % 2) as 0 | 1, text: `wide:${i % 2 === 1 ? Math.round(v) * 2 ** (i % 12) : v}|ms` });
    }
    const { single, primary, workers } = run(input, config);
    const merged = mergedFlush(primary, workers, 10_000);
    const one = single.flush(10_000);
    expectSame(merged, one, false);
    const mt = byId(merged.timers);
    for (const t of one.timers) {
      const m = mt.get(t.key.id)!;
      expect(m.exact, t.key.id).toBe(false);
      expect(m.buckets?.scale, t.key.id).toBe(t.buckets?.scale);
      expect(m.percentiles, t.key.id).toEqual(t.percentiles);
      expect(m.median, t.key.id).toBe(t.median);
      expect(m.std, t.key.id).toBeCloseTo(t.std, 9);
    }
    expect(mt.get('wide')!.buckets!.scale).toBeLessThan(mt.get('big')!.buckets!.scale);
  });

  it('refuses a partial out of sequence or truncated', () => {
    const config = testConfig();
    const w = new SimWorker(config, 1);
    w.send('a:1|c');
    const first = w.partial();
    w.send('a:1|c');
    const second = w.partial();
    const primary = new Aggregator({ config });
    const noop = {
      own: () => undefined,
      counter: () => undefined,
      timer: () => undefined,
      gauge: () => undefined,
      set: () => undefined,
    };
    expect(() => decodePartial(second, new PartialDictionary(), noop)).toThrow(PartialFormatError);
    expect(() => decodePartial(first.subarray(0, first.length - 3), new PartialDictionary(), noop)).toThrow(PartialFormatError);
    const dict = new PartialDictionary();
    mergePartials(primary, [{ totals: w.totals, feed: (v) => decodePartial(first, dict, v) }]);
    expect(byId(primary.flush(1000).counters).get('a')!.count).toBe(1);
  });
});

describe('status page hits with workers', () => {
  const text = (i: number): string => `hot:1|c\ncold:1|c\nhot:2|c\ng:${i}|g\nt:${i}|ms\ns:m${i % 3}|s\nhot:1|c`;

  it('counting off: the partial is byte-identical to one from a worker that never counted', () => {
    const config = testConfig();
    const never = new SimWorker(config, 5);
    const counted = new SimWorker(config, 5);
    for (let i = 0; i < 20; i++) {
      never.send(text(i));
      counted.send(text(i));
    }
    counted.w.agg.setStatusHits(true);
    counted.send(text(20));
    never.send(text(20));
    const a1 = never.partial();
    const b1 = counted.partial();
    // the partial that carries hits is today's partial plus a trailing section
    expect(b1.length).toBeGreaterThan(a1.length);
    expect(b1.subarray(0, a1.length).equals(a1)).toBe(true);
    // counting stopped at that partial: the next ones are byte-identical
    for (let i = 0; i < 20; i++) {
      never.send(text(i));
      counted.send(text(i));
    }
    expect(counted.partial().equals(never.partial())).toBe(true);
  });

  it("lines per key counted in each worker are merged by key into the primary's status hits", () => {
    const config = testConfig();
    const workers = [new SimWorker(config, 1), new SimWorker(config, 2)];
    const primary = new Aggregator({ config });
    primary.setStatusHits(true);
    for (const w of workers) w.w.agg.setStatusHits(true);
    for (let i = 0; i < 30; i++) workers[i % 2]!.send(text(i));
    workers[1]!.send('only.one:1|c');
    const bufs = workers.map((w) => w.partial());
    mergePartials(
      primary,
      workers.map((w, i) => ({ totals: w.totals, feed: (v) => decodePartial(bufs[i]!, w.dict, v) })),
    );
    const hits = primary.takeStatusHits(20)!;
    expect(hits.top.map((h) => [h.type, h.id, h.lines])).toEqual([
      [0, 'hot', 90],
      [0, 'cold', 30],
      [1, 't', 30],
      [2, 'g', 30],
      [3, 's', 30],
      [0, 'only.one', 1],
    ]);
    expect(hits.byType).toEqual([121, 30, 30, 30]);
    // the primary off: what a late partial carries is ignored
    primary.setStatusHits(false);
    for (const w of workers) w.w.agg.setStatusHits(true);
    workers[0]!.send(text(0));
    const late = workers[0]!.partial();
    mergePartials(primary, [{ totals: workers[0]!.totals, feed: (v) => decodePartial(late, workers[0]!.dict, v) }]);
    expect(primary.takeStatusHits(20)).toBeNull();
  });
});

describe('setMaxMembers with workers', () => {
  it('each worker and the merge keep at most setMaxMembers per set per interval; drops are counted once, in set_members_dropped', () => {
    const config = testConfig({ setMaxMembers: 3 });
    const workers = [new SimWorker(config, 1), new SimWorker(config, 2)];
    workers[0]!.send('s:a|s\ns:b|s\ns:c|s\ns:d|s'); // d: dropped in the worker
    workers[1]!.send('s:a|s\ns:e|s\ns:f|s'); // e, f: new to the merge past its bound
    const primary = new Aggregator({ config });
    const bufs = workers.map((w) => w.partial());
    mergePartials(
      primary,
      workers.map((w, i) => ({ totals: w.totals, feed: (v) => decodePartial(bufs[i]!, w.dict, v) })),
    );
    const snap = primary.flush(10_000);
    expect(snap.sets.find((s) => s.key.id === 's')?.count).toBe(3);
    expect(snap.counters.toArray().find((c) => c.key.id === 'statsd.set_members_dropped')?.count).toBe(3);
    expect(primary.setMembersDroppedSinceStart).toBe(3);
  });
});
