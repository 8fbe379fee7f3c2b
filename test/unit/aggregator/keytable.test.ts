import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/index.js';
import { KeyTable } from '../../../src/aggregator/index.js';
import { counter, makeAggregator, send, timer } from './helpers.js';

function tableOf(agg: Aggregator): KeyTable {
  return (agg as unknown as { table: KeyTable }).table;
}

describe('KeyTable', () => {
  it('100k keys: grows by doubling, every key found with its slot', () => {
    const t = new KeyTable();
    const start = t.capacity;
    const bufs: Buffer[] = [];
    for (let i = 0; i < 100_000; i++) bufs.push(Buffer.from(`svc.host${i % 97}.metric${i}`));
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      expect(t.find(0, b, 0, b.length, 0, 0)).toBe(-1);
      t.insert(0, b, 0, b.length, 0, 0, i, 7);
    }
    expect(t.count).toBe(100_000);
    expect(t.capacity).toBeGreaterThanOrEqual(200_000); // load factor <= 0.5
    expect(t.capacity).toBeGreaterThan(start);
    let wrong = 0;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      const e = t.find(0, b, 0, b.length, 0, 0);
      if (e < 0 || t.eSlot[e] !== i || t.eGen[e] !== 7) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('type, key/tag boundary and bytes are all part of the identity', () => {
    const t = new KeyTable();
    const b = Buffer.from('abc');
    expect(t.find(0, b, 0, 3, 0, 0)).toBe(-1);
    t.insert(0, b, 0, 3, 0, 0, 1, 0);
    expect(t.find(1, b, 0, 3, 0, 0)).toBe(-1); // other type
    t.insert(1, b, 0, 3, 0, 0, 2, 0);
    expect(t.find(0, b, 0, 2, 2, 3)).toBe(-1); // "ab" + tags "c"
    t.insert(0, b, 0, 2, 2, 3, 3, 0);
    expect(t.find(0, b, 0, 1, 1, 3)).toBe(-1); // "a" + tags "bc"
    expect(t.find(0, b, 0, 3, 3, 3)).toBeGreaterThanOrEqual(0); // an empty tag range anywhere: no tags
    expect(t.eSlot[t.find(0, b, 0, 3, 0, 0)]).toBe(1);
    expect(t.eSlot[t.find(1, b, 0, 3, 0, 0)]).toBe(2);
    expect(t.eSlot[t.find(0, b, 0, 2, 2, 3)]).toBe(3);
    const other = Buffer.from('xabcx');
    expect(t.eSlot[t.find(0, other, 1, 4, 0, 0)]).toBe(1); // same bytes at another offset
  });
});

describe('aggregator key resolution', () => {
  it('different raw bytes of one series share a slot: tag order, sanitising', () => {
    const agg = makeAggregator();
    send(agg, 'm:1|c|#b:2,a:1\nm:1|c|#a:1,b:2\nm,a=1,b=2:1|c');
    send(agg, 'a b/c:1|c\na_b-c:2|c\nt:1|ms|#x:1\nt:2|ms|#x:1');
    const s = agg.flush(0);
    expect(counter(s, 'm;a=1;b=2')).toBe(3);
    expect(counter(s, 'a_b-c')).toBe(3);
    expect(timer(s, 't;x=1')!.n).toBe(2);
    expect(agg.liveKeys().counters).toBe(5); // 3 own + 2
    // the same name as a counter and as a timer are different series
    send(agg, 'same:1|c\nsame:5|ms');
    const s2 = agg.flush(1000);
    expect(counter(s2, 'same')).toBe(1);
    expect(timer(s2, 'same')!.sum).toBe(5);
  });

  it('a deleted slot is reused through the free list; stale raw entries do not resolve to the new owner', () => {
    const agg = makeAggregator({ deleteCounters: true });
    const slots = (agg as unknown as { counters: { idx: { byId: Map<string, number> } } }).counters.idx.byId;
    send(agg, 'x:1|c');
    const xSlot = slots.get('x')!;
    agg.flush(0); // x deleted
    expect(slots.has('x')).toBe(false);
    send(agg, 'y:5|c');
    expect(slots.get('y')).toBe(xSlot); // reused
    send(agg, 'x:2|c'); // the raw entry for "x" points at y's slot with an old generation
    const s = agg.flush(1000);
    expect(counter(s, 'y')).toBe(5);
    expect(counter(s, 'x')).toBe(2);
    expect(slots.get('x')).not.toBe(xSlot);
  });

  it('admin deletes are handled like flush deletes (timers too)', () => {
    const agg = makeAggregator();
    send(agg, 't:1|ms');
    expect(agg.deleteKeys('timers', ['t'])).toEqual(['deleted: t']);
    send(agg, 'u:3|ms\nt:2|ms');
    const s = agg.flush(0);
    expect(timer(s, 'u')!.sum).toBe(3);
    expect(timer(s, 't')!.sum).toBe(2);
  });

  it('after a burst of one-off keys is deleted, the raw table is rebuilt smaller', () => {
    const agg = makeAggregator({ deleteCounters: true });
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(`burst.${i}:1|c`);
    for (let i = 0; i < lines.length; i += 500) send(agg, lines.slice(i, i + 500).join('\n'));
    send(agg, 'steady:1|c');
    const t = tableOf(agg);
    const big = t.capacity;
    expect(big).toBeGreaterThanOrEqual(100_000);
    expect(t.count).toBe(50_001);
    agg.flush(0); // every counter deleted (own ones reset)
    const after = tableOf(agg);
    expect(after.count).toBe(0);
    expect(after.capacity).toBeLessThan(big / 16);
    // still works afterwards
    send(agg, 'steady:1|c\nburst.7:4|c');
    expect(agg.liveKeys().counters).toBe(5);
    const s = agg.flush(1000);
    expect(counter(s, 'steady')).toBe(1);
    expect(counter(s, 'burst.7')).toBe(4);
    agg.flush(2000);
    expect(agg.liveKeys().counters).toBe(3);
  });

  it('keyNameSanitize off keeps names as sent (changed by reconfigure at the next flush)', () => {
    const agg = makeAggregator({ keyNameSanitize: false });
    send(agg, 'a b:1|c');
    expect(counter(agg.flush(0), 'a b')).toBe(1);
  });
});

describe('KeyTable: the arena limit (int32 offsets) is a fail-safe, never an overflow', () => {
  it('an insert that would pass the limit is refused (-1); every key inserted before is still found', () => {
    const t = new KeyTable(1024, 64 * 1024);
    const bufs: Buffer[] = [];
    let refused = -1;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(`svc.host${i % 7}.metric${i}`.padEnd(100, 'x'));
      expect(t.find(0, b, 0, b.length, 0, 0)).toBe(-1);
      const e = t.insert(0, b, 0, b.length, 0, 0, i, 1);
      if (e < 0) {
        refused = i;
        break;
      }
      bufs.push(b);
    }
    expect(refused).toBe(655); // 655 keys of 100 bytes fit in 64 KiB
    expect(t.count).toBe(655);
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      const e = t.find(0, b, 0, b.length, 0, 0);
      expect(e).toBeGreaterThanOrEqual(0);
      expect(t.eSlot[e]).toBe(i);
    }
    // refused bytes are not half-inserted: looking them up again misses, and nothing throws
    const b = Buffer.from('svc.host0.metric655'.padEnd(100, 'x'));
    expect(t.find(0, b, 0, b.length, 0, 0)).toBe(-1);
    expect(t.insert(0, b, 0, b.length, 0, 0, 655, 1)).toBe(-1);
    expect(t.usedBytes).toBe(655 * 100 + 655 * 56);
  });

  it('the aggregator over a table at its limit: new keys are dropped and counted, known keys keep counting, nothing throws', () => {
    const agg = makeAggregator({ maxKeyLength: 4096 });
    (agg as unknown as { table: KeyTable }).table = new KeyTable(1024, 32 * 1024);
    send(agg, 'known.a:1|c\nknown.b#tag=v:1|c');
    for (let i = 0; i < 200; i++) send(agg, `fill.k${i}.${'y'.repeat(500)}:1|c\nknown.a:1|c\nknown.b#tag=v:1|c`);
    const s = agg.flush(10_000);
    expect(counter(s, 'known.a')).toBe(201);
    expect(counter(s, 'known.b;tag=v')).toBe(201);
    const fill = s.counters.toArray().filter((c) => c.key.id.startsWith('fill.')).length;
    expect(fill).toBeGreaterThan(10);
    expect(fill).toBeLessThan(200);
    expect(counter(s, 'statsd.keys_dropped')).toBe(200 - fill);
  });
});

describe('keyTableBytes: cached spellings are reclaimed at a flush, idle ones first, then the oldest', () => {
  const found = (agg: Aggregator, raw: string): boolean => {
    const b = Buffer.from(raw);
    return tableOf(agg).find(0, b, 0, b.length, 0, 0) >= 0;
  };

  it('past 75 % of the budget: every spelling of an idle key goes, then the oldest of active keys, down to 50 %', () => {
    const budget = 65_536;
    const agg = makeAggregator({ keyTableBytes: budget });
    // interval 1: 300 spellings of `idle` (a Librato entry without `=` is dropped: each is an extra spelling)
    for (let i = 0; i < 300; i += 10) send(agg, Array.from({ length: 10 }, (_, j) => `idle#junk${i + j}:1|c`).join('\n'));
    expect(counter(agg.flush(10_000), 'idle')).toBe(300);
    expect(found(agg, 'idle#junk0')).toBe(true); // under 75 %: nothing reclaimed
    // interval 2: `idle` gets nothing, `hot` gets 600 spellings
    for (let i = 0; i < 600; i += 10) send(agg, Array.from({ length: 10 }, (_, j) => `hot#junk${i + j}:1|c`).join('\n'));
    const before = agg.keyBytesUsed();
    expect(before).toBeGreaterThan(budget * 0.75);
    expect(before).toBeLessThanOrEqual(budget);
    const s = agg.flush(20_000);
    expect(counter(s, 'hot')).toBe(600);
    expect(agg.keyBytesUsed()).toBeLessThanOrEqual(budget * 0.5 + 400); // (+ the timestamp_lag gauge, created after the reclaim)
    expect(found(agg, 'idle#junk0')).toBe(false);
    expect(found(agg, 'idle#junk299')).toBe(false);
    expect(found(agg, 'hot#junk0')).toBe(false); // the oldest of the active key's
    expect(found(agg, 'hot#junk599')).toBe(true); // the newest stay
    // the keys themselves stay, and a reclaimed spelling still counts in its key
    send(agg, 'idle#junk0:1|c\nhot#junk0:2|c\nidle:1|c');
    const s3 = agg.flush(30_000);
    expect(counter(s3, 'idle')).toBe(2);
    expect(counter(s3, 'hot')).toBe(2);
    expect(s3.counters.toArray().filter((c) => c.key.id === 'idle' || c.key.id === 'hot').length).toBe(2);
    const report = agg.takeMemoryReport();
    expect(report?.spellingsReclaimed).toBeGreaterThan(300);
  });

  it('at the budget, a new spelling of a known key still counts (not cached); a new key is dropped and counted', () => {
    const agg = makeAggregator({ keyTableBytes: 65_536 });
    let i = 0;
    while (agg.keyBytesUsed() < 65_536 - 200) send(agg, `k#junk${i++}:1|c`);
    const n = i;
    for (let j = 0; j < 50; j++) send(agg, `k#more${j}:1|c`);
    send(agg, `a.brand.new.key.${'z'.repeat(200)}:1|c`);
    const s = agg.flush(10_000);
    expect(counter(s, 'k')).toBe(n + 50);
    expect(counter(s, 'statsd.keys_dropped')).toBe(1);
    expect(agg.keyBytesUsed()).toBeLessThanOrEqual(65_536);
  });
});

describe('maxKeys bounds the cached spellings too', () => {
  it('1,000 spellings of one key with maxKeys 100: at most 100 are cached, every line counts, the flush reclaims to 50', () => {
    const agg = makeAggregator({ maxKeys: 100 });
    for (let i = 0; i < 1000; i += 10) send(agg, Array.from({ length: 10 }, (_, j) => `k#junk${i + j}:1|c`).join('\n'));
    const entries = tableOf(agg).count;
    expect(entries).toBeLessThanOrEqual(100 + 2); // + the key's own (canonical) entry
    const s = agg.flush(10_000);
    expect(counter(s, 'k')).toBe(1000);
    expect(tableOf(agg).count).toBeLessThanOrEqual(50 + 2);
    expect(agg.takeMemoryReport()?.spellingsUncached).toBe(900);
    expect(s.counters.toArray().find((c) => c.key.id === 'statsd.keys_dropped')).toBeUndefined();
  });
});
