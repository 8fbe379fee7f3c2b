/**
 * A fifth metric type is its store module plus registrations: here the small "max" type of
 * test/fake-type/max-type.ts (the largest value of the interval per key, lines `key:value|mx`),
 * registered as a type's module registers itself (registerMaxType: its store in
 * src/aggregator/stores.ts, its suffix in src/parser/typetable.ts, its Graphite lines), with no other
 * change to the parser or the aggregator. Its lines are parsed by the parser's general path,
 * ingested through the key index, captured into the snapshot's `others`, cleared under the retention
 * policy, and exported by workers, sent over the wire partial and merged on the primary.
 * Its Graphite output: test/unit/backends/graphite-other-types.test.ts, test/integration/fake-type.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../../src/aggregator/aggregator.js';
import { mergePartials, SourceTotals } from '../../../src/aggregator/merge.js';
import type { Snapshot } from '../../../src/aggregator/snapshot.js';
import { METRIC_STORES, registerMetricStore } from '../../../src/aggregator/stores.js';
import { decodePartial, PartialDictionary, PartialEncoder } from '../../../src/cluster/protocol.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { BadLine, MetricType, Sample } from '../../../src/parser/types.js';
import { registerTypeSuffix } from '../../../src/parser/typetable.js';
import { MAX_TYPE, type MaxStat, registerMaxType } from '../../fake-type/max-type.js';
import { counter, testConfig } from './helpers.js';

/** The type's registrations, made as its module would make them when it loads. */
let unregister: () => void = () => undefined;
beforeAll(() => {
  unregister = registerMaxType();
});
afterAll(() => unregister());

// ------------------------------------------------------------------ helpers

function maxOf(snap: Snapshot): Array<[string, number]> {
  const stats = (snap.others?.get('max') ?? []) as MaxStat[];
  return stats.map((m) => [m.key.id, m.max]);
}

/** An aggregator built as the daemon builds it (the registered stores, the max one among them). */
function make(over: Partial<TallydConfig> = {}): Aggregator {
  return new Aggregator({ config: testConfig(over) });
}

function send(agg: Aggregator, text: string): void {
  const buf = Buffer.from(text);
  agg.countPacket(parsePacket(buf, 0, buf.length, agg, new Sample()));
}

describe('a fifth metric type registered beside the core four', () => {
  it('is ingested through the key index and captured into the snapshot under its name; the core types are untouched', () => {
    const agg = make();
    send(agg, 'req.size:3|mx\nreq.size:9|mx\nreq.size:4|mx\nother:-2|mx');
    // DogStatsD tags: canonical id with sorted tags, found again whatever the tag order
    send(agg, 'tagged:1|mx|#b:2,a:1\ntagged:5|mx|#a:1,b:2');
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
    send(agg, 'a:7|mx');
    send(agg, 'b:1|mx');
    expect(maxOf(agg.flush(1000))).toEqual([
      ['a', 7],
      ['b', 1],
    ]);
    send(agg, 'a:2|mx');
    expect(maxOf(agg.flush(2000))).toEqual([['a', 2]]); // cleared: b's 1 is not repeated
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'b')).toBe(-Infinity); // b: idle for 1 flush, kept
    send(agg, 'a:3|mx');
    agg.flush(3000);
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'b')).toBeUndefined(); // idle for 2: deleted
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'a')).toBe(-Infinity);
  });

  it('counts against maxKeys as any key does', () => {
    const agg = make({ maxKeys: 5 }); // the daemon's 3 own counters + 2
    send(agg, 'k1:1|mx\nk2:1|mx\nk3:1|mx');
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
    send(workers[0]!.agg, 'm:4|mx');
    send(workers[0]!.agg, 't:1|mx|#x:1');
    send(workers[1]!.agg, 'm:11|mx');
    send(workers[1]!.agg, 'only1:-5|mx');
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
    send(workers[0]!.agg, 'm:1|mx');
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
    const core = new Aggregator({ config: testConfig({ deleteCounters: true }), stores: METRIC_STORES.slice(0, 4) });
    const withMax = make({ deleteCounters: true });
    const a = new PartialEncoder();
    const b = new PartialEncoder();
    for (const agg of [core, withMax]) send(agg, 'c:1|c\nt:2|ms\ns:x|s');
    core.exportInterval(a);
    withMax.exportInterval(b);
    expect(b.finish().equals(a.finish())).toBe(true);
  });

  it('the parser reads its suffix from the type table; unregistered, it is an unknown type, and a taken suffix is refused', () => {
    const agg = make();
    // the suffix's line next to the core four's, with a sample rate field and a fractional value
    send(agg, 'peak:2.5|mx|@0.5\npeak:1|c\npeak:x|s');
    expect(agg.liveValueOf(MAX_TYPE as MetricType, 'peak')).toBe(2.5);
    expect(agg.badLinesSeen).toBe(0);
    expect(() => registerTypeSuffix('mx', 5)).toThrow(/already registered/);
    expect(() => registerTypeSuffix('c', 5)).toThrow(/already registered/);
    // the store's type byte must be the next free one: 4 is taken, 6 would leave a hole
    expect(() => registerMetricStore(MAX_TYPE, METRIC_STORES[MAX_TYPE]!)).toThrow(/next free type byte is 5/);
    expect(() => registerMetricStore(6, METRIC_STORES[MAX_TYPE]!)).toThrow(/next free type byte is 5/);
    unregister();
    try {
      send(agg, 'peak:99|mx');
      expect(agg.badLinesSeen).toBe(1);
      expect(agg.badLinesByReason[BadLine.UnknownType]).toBe(1);
      expect(agg.liveValueOf(MAX_TYPE as MetricType, 'peak')).toBe(2.5);
    } finally {
      unregister = registerMaxType();
    }
  });
});
