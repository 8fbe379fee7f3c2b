/**
 * The ingest fast paths: the scanner's key hash handed to the
 * key table, the inline Algorithm R with the default xorshift RNG, reservoirs reused across flushes,
 * timer aggregates in one record per slot, and one key-table entry per plain key.
 */
import { describe, expect, it } from 'vitest';
import { KeyTable } from '../../../src/aggregator/keytable.js';
import { hashKeyBytes, hashRawKey, parsePacket } from '../../../src/parser/scanner.js';
import { MetricType, Sample } from '../../../src/parser/types.js';
import { counter, makeAggregator, send, timer } from './helpers.js';

/** Key-table entries of an aggregator (internal: the memory a key costs). */
function entries(agg: object): number {
  return (agg as unknown as { table: KeyTable }).table.count;
}

describe('ingest fast paths', () => {
  it("findHashed with the bytes' hash finds what find finds, for every type and tag split", () => {
    const t = new KeyTable();
    const b = Buffer.from('xx.api.requests|env:prod');
    for (let type = 0; type < 8; type++) {
      t.find(type, b, 2, 14, 0, 0);
      t.insert(type, b, 2, 14, 0, 0, type, 1);
      t.find(type, b, 2, 14, 15, 24);
      t.insert(type, b, 2, 14, 15, 24, 100 + type, 1);
    }
    for (let type = 0; type < 8; type++) {
      const h = hashKeyBytes(b, 2, 14);
      expect(t.eSlot[t.findHashed(h, type, b, 2, 14, 0, 0)]).toBe(type);
      expect(t.eSlot[t.findHashed(hashRawKey(b, 2, 14, 15, 24), type, b, 2, 14, 15, 24)]).toBe(100 + type);
      expect(t.findHashed(h, type, b, 2, 13, 0, 0)).toBe(-1); // other length (and so another hash)
    }
    // a wrong hash misses rather than matching other bytes
    expect(t.findHashed(hashKeyBytes(b, 2, 13), 0, b, 2, 14, 0, 0)).toBe(-1);
  });

  it("the scanner leaves the key bytes' hash in the sample, on both of its paths", () => {
    const got: Array<[string, number]> = [];
    const sink = {
      sample(s: Sample) {
        expect(s.keyHashed).toBe(true);
        got.push([s.buf.toString('latin1', s.keyStart, s.keyEnd), s.keyHash]);
      },
      badLine() {},
      dogCount() {},
    };
    const buf = Buffer.from('fast.key:1|c\nslow.key:1.5|ms|@0.5\nmulti:1|c:2|g\r\n');
    parsePacket(buf, 0, buf.length, sink, new Sample());
    expect(got.map((g) => g[0])).toEqual(['fast.key', 'slow.key', 'multi', 'multi']);
    for (const [k, h] of got) expect(h).toBe(hashKeyBytes(Buffer.from(k), 0, k.length));
  });

  it("the key table finds a tagged key on the hot path by the scanner's hash (the slow path inserted it by hashRawKey)", () => {
    for (const containerIdTag of [false, true]) {
      const agg = makeAggregator({ dogstatsdContainerIdTag: containerIdTag });
      const lines: string[] = [];
      // tag runs of every length 0-40 (words and remainders), with and without fields after them
      for (let n = 0; n <= 40; n++) {
        const tags = 'route:/a/b,env:prod,az:eu-west-1b,x:ÿé'.slice(0, n);
        lines.push(`t.k${n}:1|c|#${tags}`, `t.k${n}:1|ms|@0.5|#${tags}|c:cid${n}|T1700000000`, `t.k${n}:2|g|#${tags}|card:low`);
      }
      const text = lines.join('\n');
      send(agg, text);
      const created = agg.keysCreated;
      const count = entries(agg);
      expect(created).toBeGreaterThan(0);
      // the same lines again: every one found by the per-line look-up (no slow path: no key bound, no entry added)
      send(agg, text);
      expect(agg.keysCreated).toBe(created);
      expect(entries(agg)).toBe(count);
    }
  });

  it('a plain key costs one key-table entry; a key whose id differs from its bytes costs two', () => {
    const agg = makeAggregator();
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) lines.push(`plain.k${i}:1|c`);
    send(agg, lines.join('\n'));
    expect(entries(agg)).toBe(500);
    send(agg, 'tagged,a=1:1|c\nsp ace:1|c');
    expect(entries(agg)).toBe(504); // raw + canonical-id entry each
    send(agg, 'sp_ace:1|c'); // its raw bytes are the id: found through the canonical entry, then one raw entry
    expect(entries(agg)).toBe(505);
    const s = agg.flush(0);
    expect(counter(s, 'sp_ace')).toBe(2);
    expect(counter(s, 'plain.k499')).toBe(1);
  });

  it('with the default RNG, a full reservoir holds a uniform sample of the values', () => {
    const agg = makeAggregator({ reservoirSize: 1024, percentThreshold: [50], timerHistogram: false });
    const s = new Sample();
    s.type = MetricType.Timer;
    s.buf = Buffer.from('t');
    s.keyStart = 0;
    s.keyEnd = 1;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      s.value = i;
      agg.sample(s);
    }
    const t = timer(agg.flush(0), 't')!;
    expect(t.n).toBe(N);
    expect(t.exact).toBe(false);
    expect(t.samples.length).toBe(1024);
    expect(new Set(t.samples).size).toBe(1024); // distinct values, all from the input
    let sum = 0;
    let late = 0;
    for (const v of t.samples) {
      expect(Number.isInteger(v) && v >= 0 && v < N).toBe(true);
      sum += v;
      if (v >= N / 2) late++;
    }
    // mean of a uniform sample of 0..N-1: sd N/sqrt(12 * 1024) ≈ 902; 6 sd either way
    expect(Math.abs(sum / 1024 - N / 2)).toBeLessThan(5_500);
    // not the first 1024 values kept (nor only the last): about half from the second half (sd 16)
    expect(late).toBeGreaterThan(412);
    expect(late).toBeLessThan(612);
    expect(t.lower).toBe(0);
    expect(t.upper).toBe(N - 1);
  });

  it('deleteTimers: a timer re-created after a flush gets a reused reservoir, and only its new values', () => {
    const agg = makeAggregator({ deleteTimers: true, reservoirSize: 64, timerHistogram: false });
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(`t:${1000 + i}|ms`);
    send(agg, lines.join('\n'));
    expect(timer(agg.flush(0), 't')!.samples.length).toBe(64);
    send(agg, 't:3|ms\nt:1|ms\nt:2|ms');
    const t = timer(agg.flush(1000), 't')!;
    expect(t.n).toBe(3);
    expect(t.exact).toBe(true);
    expect(Array.from(t.samples)).toEqual([1, 2, 3]);
    expect([t.lower, t.upper, t.sum, t.sumSquares]).toEqual([1, 3, 6, 14]);
    expect(agg.dump('timers')['t']).toBeUndefined(); // deleted again at that flush
    send(agg, 't:7|ms');
    expect(agg.dump('timers')['t']).toEqual([7]);
  });

  it('timer aggregates of neighbouring slots stay apart (one record per slot)', () => {
    const agg = makeAggregator();
    const lines: string[] = [];
    for (let k = 0; k < 100; k++) for (let v = 1; v <= 3; v++) lines.push(`t${k}:${k * 10 + v}|ms|@0.5`);
    send(agg, lines.join('\n'));
    const s = agg.flush(0);
    for (let k = 0; k < 100; k++) {
      const t = timer(s, `t${k}`)!;
      expect([t.n, t.count, t.lower, t.upper, t.sum]).toEqual([3, 6, k * 10 + 1, k * 10 + 3, 3 * (k * 10) + 6]);
    }
  });
});

describe('last_msg_seen without a clock read per packet', () => {
  it('is stamped by noteTime() for the packets counted before it, and kept when none came since', () => {
    const agg = makeAggregator();
    agg.countPacket(1);
    agg.noteTime(1_700_000_000_400);
    expect(agg.lastMsgSeen).toBe(1_700_000_000);
    agg.noteTime(1_700_000_090_000); // no packet since: unchanged
    expect(agg.lastMsgSeen).toBe(1_700_000_000);
    agg.countPacket(3);
    agg.noteTime(1_700_000_100_000);
    expect(agg.lastMsgSeen).toBe(1_700_000_100);
  });

  it('a reader stamps packets not yet seen by the timer with the current time', () => {
    const agg = makeAggregator();
    agg.countPacket(1);
    const before = Math.round(Date.now() / 1000);
    expect(agg.lastMsgSeen).toBeGreaterThanOrEqual(before);
  });
});
