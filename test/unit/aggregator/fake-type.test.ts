/**
 * A fifth metric type is its store module plus one registration: here a small "max" type (the
 * largest value of the interval per key), defined in this file and registered the way
 * src/aggregator/stores.ts registers the core four, with no other change to the aggregator. It is
 * ingested through the key index, captured into the snapshot's `others`, cleared under the retention
 * policy, and exported by workers, sent over the wire partial and merged on the primary.
 */
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../../src/aggregator/aggregator.js';
import type { PartialVisitor } from '../../../src/aggregator/merge.js';
import { mergePartials, SourceTotals } from '../../../src/aggregator/merge.js';
import type { Retention } from '../../../src/aggregator/retention.js';
import type { Snapshot } from '../../../src/aggregator/snapshot.js';
import { type CaptureSink, METRIC_STORES, type MetricStore, SlotIndex, type StoreFactory } from '../../../src/aggregator/stores.js';
import { decodePartial, PartialDictionary, PartialEncoder } from '../../../src/cluster/protocol.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { type MetricKey, MetricType, Sample } from '../../../src/parser/types.js';
import { counter, testConfig } from './helpers.js';

// ------------------------------------------------------------------ the fake type's module

const MAX_TYPE = 4;

interface MaxStat {
  readonly key: MetricKey;
  readonly max: number;
}

/** The largest value per key this interval (-Infinity: none yet). */
class MaxStore implements MetricStore {
  readonly type = MAX_TYPE;
  readonly name = 'max';
  readonly idx = new SlotIndex();
  values: number[] = [];

  create(key: MetricKey): number {
    const slot = this.idx.alloc(key);
    this.values[slot] = -Infinity;
    return slot;
  }
  remove(slot: number): number {
    this.values[slot] = -Infinity;
    return this.idx.release(slot);
  }
  findUnindexed(): number {
    return -1;
  }
  ingest(slot: number, s: Sample): void {
    if (s.value > this.values[slot]!) this.values[slot] = s.value;
  }
  isActive(slot: number): boolean {
    return this.values[slot] !== -Infinity;
  }
  liveValue(slot: number): number {
    return this.values[slot]!;
  }
  configure(): void {}
  configureAfterClear(): void {}
  capture(into: CaptureSink): void {
    const stats: MaxStat[] = [];
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      if (this.values[s] !== -Infinity) stats.push({ key: this.idx.keys[s]!, max: this.values[s]! });
    }
    (into.others ??= new Map()).set(this.name, stats);
  }
  clear(r: Retention): number {
    let stale = 0;
    for (let s = this.idx.head; s >= 0; ) {
      const next = this.idx.next[s]!;
      if (r.idleKeyTtl > 0 && r.expired(this.type, s, this.isActive(s))) stale += this.remove(s);
      else this.values[s] = -Infinity;
      s = next;
    }
    return stale;
  }
  exportTo(out: PartialVisitor): void {
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      if (this.values[s] !== -Infinity) out.other?.(this.type, this.idx.keys[s]!, Float64Array.of(this.values[s]!));
    }
  }
  merge(slot: number, data: Float64Array): void {
    if (data[0]! > this.values[slot]!) this.values[slot] = data[0]!;
  }
}

/** The registration line (in production: one more entry of METRIC_STORES in src/aggregator/stores.ts). */
const WITH_MAX: readonly StoreFactory[] = [...METRIC_STORES, () => new MaxStore()];

// ------------------------------------------------------------------ helpers

/** A `key:value` line of the max type (the parser's type table is not part of this test: the sample is built by hand). */
function maxSample(key: string, value: number, tags = ''): Sample {
  const s = new Sample();
  const text = key + tags;
  s.buf = Buffer.from(text);
  s.type = MAX_TYPE as MetricType;
  s.keyStart = 0;
  s.keyEnd = key.length;
  s.tagStart = key.length;
  s.tagEnd = text.length;
  s.value = value;
  return s;
}

function maxOf(snap: Snapshot): Array<[string, number]> {
  const stats = (snap.others?.get('max') ?? []) as MaxStat[];
  return stats.map((m) => [m.key.id, m.max]);
}

function make(over: Partial<TallydConfig> = {}): Aggregator {
  return new Aggregator({ config: testConfig(over), stores: WITH_MAX });
}

function send(agg: Aggregator, text: string): void {
  const buf = Buffer.from(text);
  agg.countPacket(parsePacket(buf, 0, buf.length, agg, new Sample()));
}

describe('a fifth metric type registered beside the core four', () => {
  it('is ingested through the key index and captured into the snapshot under its name; the core types are untouched', () => {
    const agg = make();
    for (const v of [3, 9, 4]) agg.sample(maxSample('req.size', v));
    agg.sample(maxSample('other', -2));
    // DogStatsD tags: canonical id with sorted tags, found again whatever the tag order
    agg.sample(maxSample('tagged', 1, 'b:2,a:1'));
    agg.sample(maxSample('tagged', 5, 'a:1,b:2'));
    send(agg, 'req.size:1|c\nreq.size:2|g');
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'req.size')).toBe(9);
    expect(agg.inspectKeys('req.size', 10).map((k) => [k.type, k.value])).toEqual([
      [MetricType.Counter, 1],
      [MetricType.Gauge, 2],
      [MAX_TYPE, 9],
    ]);
    const snap = agg.flush(1000);
    expect(maxOf(snap)).toEqual([
      ['req.size', 9],
      ['other', -2],
      ['tagged;a=1;b=2', 5],
    ]);
    // one name, three types: three keys, each in its own store
    expect(counter(snap, 'req.size')).toBe(1);
    expect(snap.gauges.find((g) => g.key.id === 'req.size')?.value).toBe(2);
    expect(snap.internal.liveCounters).toBe(4); // the daemon's three own counters and req.size
  });

  it('is cleared at each flush, and idle keys go under idleKeyTtl', () => {
    const agg = make({ idleKeyTtl: 2 });
    agg.sample(maxSample('a', 7));
    agg.sample(maxSample('b', 1));
    expect(maxOf(agg.flush(1000))).toEqual([
      ['a', 7],
      ['b', 1],
    ]);
    agg.sample(maxSample('a', 2));
    expect(maxOf(agg.flush(2000))).toEqual([['a', 2]]); // cleared: b's 1 is not repeated
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'b')).toBe(-Infinity); // b: idle for 1 flush, kept
    agg.sample(maxSample('a', 3));
    agg.flush(3000);
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'b')).toBeUndefined(); // idle for 2: deleted
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'a')).toBe(-Infinity);
  });

  it('counts against maxKeys as any key does', () => {
    const agg = make({ maxKeys: 5 }); // the daemon's 3 own counters + 2
    for (const k of ['k1', 'k2', 'k3']) agg.sample(maxSample(k, 1));
    expect(maxOf(agg.flush(1000)).map((m) => m[0])).toEqual(['k1', 'k2']);
    expect(agg.keysDroppedTotal).toBe(1);
  });

  it('workers export it, the wire partial carries it, and the primary merges it', () => {
    const workerConfig = { deleteCounters: true, deleteTimers: true, deleteSets: true };
    const workers = [0, 1].map(() => ({
      agg: make(workerConfig),
      enc: new PartialEncoder(),
      dict: new PartialDictionary(),
      totals: new SourceTotals(),
    }));
    const primary = make();
    workers[0]!.agg.sample(maxSample('m', 4));
    workers[0]!.agg.sample(maxSample('t', 1, 'x:1'));
    workers[1]!.agg.sample(maxSample('m', 11));
    workers[1]!.agg.sample(maxSample('only1', -5));
    send(workers[1]!.agg, 'c:2|c');
    const bufs = workers.map((w) => {
      w.agg.exportInterval(w.enc);
      return w.enc.finish();
    });
    mergePartials(
      primary,
      workers.map((w, i) => ({ totals: w.totals, feed: (v) => decodePartial(bufs[i]!, w.dict, v) })),
    );
    const snap = primary.flush(1000);
    expect(maxOf(snap)).toEqual([
      ['m', 11],
      ['t;x=1', 1],
      ['only1', -5],
    ]);
    expect(counter(snap, 'c')).toBe(2);
    // the workers cleared theirs at the export; the next partials name the keys by wire id only
    workers[0]!.agg.sample(maxSample('m', 1));
    const next = workers.map((w) => {
      w.agg.exportInterval(w.enc);
      return w.enc.finish();
    });
    mergePartials(
      primary,
      workers.map((w, i) => ({ totals: w.totals, feed: (v) => decodePartial(next[i]!, w.dict, v) })),
    );
    expect(maxOf(primary.flush(2000))).toEqual([['m', 1]]);
  });

  it('a partial without keys of another type is what it was before the fifth type existed', () => {
    const core = new Aggregator({ config: testConfig({ deleteCounters: true }) });
    const withMax = make({ deleteCounters: true });
    const a = new PartialEncoder();
    const b = new PartialEncoder();
    for (const agg of [core, withMax]) send(agg, 'c:1|c\nt:2|ms\ns:x|s');
    core.exportInterval(a);
    withMax.exportInterval(b);
    expect(b.finish().equals(a.finish())).toBe(true);
  });
});
