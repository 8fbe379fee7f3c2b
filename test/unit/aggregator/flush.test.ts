import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/aggregator/index.js';
import { counter, gauge, makeAggregator, testConfig as makeConfig, pct, rate, send, setCount, shuffle, timer } from './helpers.js';

describe('timers: the original process_metrics figures', () => {
  it('values 1..100 (shuffled), thresholds [90, -10, 99.9], flushInterval 1000', () => {
    const agg = makeAggregator({ percentThreshold: [90, -10, 99.9], flushInterval: 1000 });
    const values = shuffle(
      Array.from({ length: 100 }, (_, i) => i + 1),
      seededRandom(7),
    );
    send(agg, values.map((v) => `t:${v}|ms`).join('\n'));
    const t = timer(agg.flush(1_700_000_000_000), 't')!;
    expect(t.exact).toBe(true);
    expect(t.n).toBe(100);
    expect(t.count).toBe(100);
    expect(t.countPs).toBe(100); // 100 / (1000 / 1000)
    expect(t.lower).toBe(1);
    expect(t.upper).toBe(100);
    expect(t.sum).toBe(5050); // 100·101/2
    expect(t.sumSquares).toBe(338350); // 100·101·201/6
    expect(t.mean).toBe(50.5); // 5050/100
    expect(t.median).toBe(50.5); // even n: (v[49] + v[50]) / 2 = (50 + 51) / 2
    // population std of 1..n = sqrt((n²-1)/12) = sqrt(9999/12) = sqrt(833.25)
    expect(t.std).toBe(28.86607004772212);
    expect(t.percentiles.map((p) => p.suffix)).toEqual(['90', 'top10', '99_9']);

    // 90: round(0.9·100) = 90 values 1..90
    const p90 = pct(t, '90')!;
    expect(p90.count).toBe(90);
    expect(p90.bound).toBe(90); // upper_90 = v[89]
    expect(p90.sum).toBe(4095); // 90·91/2
    expect(p90.mean).toBe(45.5); // 4095/90
    expect(p90.sumSquares).toBe(247065); // 90·91·181/6

    // -10: round(0.1·100) = 10 values from the top: 91..100
    const top10 = pct(t, 'top10')!;
    expect(top10.count).toBe(10);
    expect(top10.bound).toBe(91); // lower_top10 = v[100-10]
    expect(top10.sum).toBe(955); // 5050 - 4095
    expect(top10.mean).toBe(95.5); // 955/10
    expect(top10.sumSquares).toBe(91285); // 338350 - 247065

    // 99.9: round(0.999·100) = round(99.9) = 100: every value
    const p999 = pct(t, '99_9')!;
    expect(p999.count).toBe(100);
    expect(p999.bound).toBe(100);
    expect(p999.sum).toBe(5050);
    expect(p999.mean).toBe(50.5);
    expect(p999.sumSquares).toBe(338350);
  });

  it('n = 1: every threshold reports the single value', () => {
    const agg = makeAggregator({ percentThreshold: [90, -10, 5] });
    send(agg, 't:320|ms');
    const t = timer(agg.flush(0), 't')!;
    expect([t.count, t.lower, t.upper, t.sum, t.sumSquares, t.mean, t.median, t.std]).toEqual([1, 320, 320, 320, 102400, 320, 320, 0]);
    expect(t.percentiles).toHaveLength(3);
    for (const p of t.percentiles) {
      expect([p.count, p.mean, p.bound, p.sum, p.sumSquares]).toEqual([1, 320, 320, 320, 102400]);
    }
  });

  it('n = 2: median is the mean of the two; a threshold rounding to 0 is left out', () => {
    const agg = makeAggregator({ percentThreshold: [90, 10, -50] });
    send(agg, 't:30|ms\nt:10|ms');
    const t = timer(agg.flush(0), 't')!;
    expect(t.median).toBe(20);
    expect(t.mean).toBe(20);
    expect(t.std).toBe(10);
    // 90: round(1.8) = 2 → both; 10: round(0.2) = 0 → absent; -50: round(1) = 1 → top value
    expect(t.percentiles.map((p) => p.suffix)).toEqual(['90', 'top50']);
    expect(pct(t, '90')).toMatchObject({ count: 2, bound: 30, sum: 40, mean: 20, sumSquares: 1000 });
    expect(pct(t, 'top50')).toMatchObject({ count: 1, bound: 30, sum: 30, mean: 30, sumSquares: 900 });
  });

  it('sample rate scales count and count_ps, not sum or mean', () => {
    const agg = makeAggregator({ flushInterval: 2000 });
    send(agg, 't:10|ms|@0.1\nt:20|ms|@0.1');
    const t = timer(agg.flush(0), 't')!;
    expect(t.n).toBe(2);
    expect(t.count).toBe(20);
    expect(t.countPs).toBe(10); // 20 / 2 s
    expect(t.sum).toBe(30);
    expect(t.mean).toBe(15);
  });

  it('histogram: per-bin counts, [previous, bound), inf bin, values above the last bin ignored; first rule wins', () => {
    const agg = makeAggregator({
      histogram: [
        { metric: 'api', bins: [1, 2.5, 10] },
        { metric: 'api.slow', bins: [100, Infinity] },
        { metric: 'db', bins: [1, Infinity] },
      ],
    });
    send(
      agg,
      ['api.slow:0.5|ms', 'api.slow:1|ms', 'api.slow:2.49|ms', 'api.slow:2.5|ms', 'api.slow:9|ms', 'api.slow:10|ms', 'api.slow:50|ms'].join(
        '\n',
      ),
    );
    send(agg, 'db:0|ms\ndb:1|ms\ndb:1e9|ms\nnone:5|ms');
    const snap = agg.flush(0);
    const api = timer(snap, 'api.slow')!.histogram!;
    expect(api.names).toEqual(['bin_1', 'bin_2_5', 'bin_10']);
    expect(api.counts).toEqual([1, 2, 2]); // 10 and 50 are >= the last bound: ignored
    const db = timer(snap, 'db')!.histogram!;
    expect(db.names).toEqual(['bin_1', 'bin_inf']);
    expect(db.bounds).toEqual([1, Infinity]);
    expect(db.counts).toEqual([1, 2]);
    expect(timer(snap, 'none')!.histogram).toBeNull();
    // counts are per interval
    send(agg, 'db:5|ms');
    expect(timer(agg.flush(1000), 'db')!.histogram!.counts).toEqual([0, 1]);
  });
});

describe('counters, gauges, sets', () => {
  it('counters sum value/sampleRate; rate per second', () => {
    const agg = makeAggregator({ flushInterval: 10_000 });
    send(agg, 'foo:1|c\nfoo:2|c|@0.5\nfoo|c');
    const s = agg.flush(0);
    // 'foo|c' has no ':value': a bad line
    expect(counter(s, 'foo')).toBe(5); // 1 + 2·(1/0.5)
    expect(rate(s, 'foo')).toBe(0.5); // 5 / 10 s
  });

  it('gauges: a signed value is a delta only when the gauge exists and is not 0', () => {
    const agg = makeAggregator();
    send(agg, 'g:+5|g'); // does not exist: set to 5
    expect(gauge(agg.flush(0), 'g')).toBe(5);
    send(agg, 'g:-2|g'); // exists, 5: delta
    expect(gauge(agg.flush(1000), 'g')).toBe(3);
    send(agg, 'g:7|g\ng:+1|g'); // set, then delta
    expect(gauge(agg.flush(2000), 'g')).toBe(8);
    send(agg, 'g:0|g\ng:-4|g'); // 0: the signed value is set
    expect(gauge(agg.flush(3000), 'g')).toBe(-4);
  });

  it('sets count unique members; an empty member counts as "0"', () => {
    const agg = makeAggregator();
    send(agg, 's:a|s\ns:b|s\ns:a|s\ns:|s\ns:0|s');
    expect(setCount(agg.flush(0), 's')).toBe(3); // a, b, 0
  });
});

describe('intervals and delete options', () => {
  it('idle interval: counter 0, timer only count 0, gauge repeated, set 0', () => {
    const agg = makeAggregator();
    send(agg, 'c:3|c\nt:5|ms\ng:9|g\ns:x|s');
    agg.flush(0);
    const s = agg.flush(1000);
    expect(counter(s, 'c')).toBe(0);
    expect(rate(s, 'c')).toBe(0);
    const t = timer(s, 't')!;
    expect(t).toMatchObject({ n: 0, count: 0, countPs: 0, histogram: null });
    expect(t.percentiles).toEqual([]);
    expect(gauge(s, 'g')).toBe(9);
    expect(setCount(s, 's')).toBe(0);
  });

  it('deleteCounters/Timers/Sets: keys leave after a flush (own counters are reset, not deleted)', () => {
    const agg = makeAggregator({ deleteCounters: true, deleteTimers: true, deleteSets: true });
    send(agg, 'c:3|c\nt:5|ms\ns:x|s\ng:1|g');
    const first = agg.flush(0);
    expect(counter(first, 'c')).toBe(3);
    expect(counter(first, 'statsd.packets_received')).toBe(1);
    const s = agg.flush(1000);
    expect(counter(s, 'c')).toBeUndefined();
    expect(timer(s, 't')).toBeUndefined();
    expect(setCount(s, 's')).toBeUndefined();
    expect(gauge(s, 'g')).toBe(1);
    expect(s.counters.toArray().map((c) => [c.key.id, c.count])).toEqual([
      ['statsd.bad_lines_seen', 0],
      ['statsd.packets_received', 0],
      ['statsd.metrics_received', 0],
    ]);
    expect(agg.liveKeys()).toEqual({ counters: 3, timers: 0, gauges: 2, sets: 0 }); // g and statsd.timestamp_lag
    // seen again: back
    send(agg, 'c:1|c');
    expect(counter(agg.flush(2000), 'c')).toBe(1);
  });

  it('deleteGauges with gaugesMaxTTL: deleted after TTL flushes without update', () => {
    const agg = makeAggregator({ deleteGauges: true, gaugesMaxTTL: 2 });
    send(agg, 'g:4|g');
    expect(gauge(agg.flush(0), 'g')).toBe(4); // TTL 2 → 1
    expect(gauge(agg.flush(1000), 'g')).toBe(4); // repeated; TTL 1 → 0: deleted
    expect(gauge(agg.flush(2000), 'g')).toBeUndefined();
    send(agg, 'g:+1|g'); // a new gauge: set
    expect(gauge(agg.flush(3000), 'g')).toBe(1);

    const one = makeAggregator({ deleteGauges: true, gaugesMaxTTL: 1 });
    send(one, 'g:4|g');
    expect(gauge(one.flush(0), 'g')).toBe(4);
    expect(gauge(one.flush(1000), 'g')).toBeUndefined();
  });

  it('timestamp_lag: absent at the first flush, then now - previous - interval', () => {
    const agg = makeAggregator({ flushInterval: 10_000, prefixStats: 'tally' });
    const first = agg.flush(1_700_000_000_400);
    expect(first.timestamp).toBe(1_700_000_000);
    expect(gauge(first, 'tally.timestamp_lag')).toBeUndefined();
    const second = agg.flush(1_700_000_012_600); // rounds to …013
    expect(gauge(second, 'tally.timestamp_lag')).toBe(3); // 13 - 0 - 10
    expect(second.intervalMs).toBe(10_000);
  });

  it('the final (partial) interval: stamped previous + interval, rates per the time it covered', () => {
    const agg = makeAggregator({ flushInterval: 2000 });
    agg.flush(1_700_000_000_000);
    send(agg, Array.from({ length: 7 }, () => 'c:1|c').join('\n') + '\nt:5|ms');
    // 0.3 s later, in the same second: a plain flush would be stamped 1_700_000_000 again
    const last = agg.flush(1_700_000_000_300, { startedMs: 0 });
    expect(last.timestamp).toBe(1_700_000_002);
    expect(last.intervalMs).toBe(300);
    expect(counter(last, 'c')).toBe(7);
    expect(rate(last, 'c')).toBeCloseTo(7 / 0.3, 10);
    expect(timer(last, 't')!.countPs).toBeCloseTo(1 / 0.3, 10);
    expect(gauge(last, 'statsd.timestamp_lag')).toBe(0);
    // before any flush: the interval since start-up, stamped now
    const fresh = makeAggregator({ flushInterval: 2000 });
    send(fresh, 'c:3|c');
    const only = fresh.flush(1_700_000_000_500, { startedMs: 1_700_000_000_000 });
    expect(only.timestamp).toBe(1_700_000_001);
    expect(rate(only, 'c')).toBe(6);
  });

  it('own counters: packets, lines and bad lines, first in the snapshot', () => {
    const seen: number[] = [];
    const agg = makeAggregator({}, { onBadLine: (reason) => seen.push(reason) });
    send(agg, 'a:1|c\nbad\nb:x|c');
    send(agg, 'c:1|c');
    const s = agg.flush(0);
    expect(
      s.counters
        .toArray()
        .slice(0, 3)
        .map((c) => [c.key.id, c.count]),
    ).toEqual([
      ['statsd.bad_lines_seen', 2],
      ['statsd.packets_received', 2],
      ['statsd.metrics_received', 4],
    ]);
    expect(agg.badLinesSeen).toBe(2);
    expect(seen).toHaveLength(2);
    expect(agg.badLinesByReason.reduce((a, b) => a + b, 0)).toBe(2);
    expect(agg.packetsReceived).toBe(2);
    expect(agg.linesReceived).toBe(4);
    expect(agg.lastMsgSeen).toBeGreaterThan(1_600_000_000);
    expect(s.internal).toMatchObject({ liveCounters: 5, liveTimers: 0, liveGauges: 0, liveSets: 0 });
    expect(s.internal.processingTimeMs).toBeGreaterThanOrEqual(0);
  });

  it('reconfigure applies from the next flush and keeps data', () => {
    const agg = makeAggregator({ percentThreshold: [90], flushInterval: 1000 });
    send(agg, 't:1|ms\nt:2|ms\nc:4|c');
    agg.reconfigure({ ...makeConfig(), percentThreshold: [50], flushInterval: 2000, deleteCounters: true });
    const s = agg.flush(0);
    expect(timer(s, 't')!.percentiles.map((p) => p.suffix)).toEqual(['50']);
    expect(rate(s, 'c')).toBe(2);
    expect(counter(agg.flush(2000), 'c')).toBeUndefined();
  });

  it('snapshots are independent of later flushes', () => {
    const agg = makeAggregator();
    send(agg, 't:3|ms\nt:1|ms\nt:2|ms');
    const s = agg.flush(0);
    send(agg, 't:100|ms');
    agg.flush(1000);
    expect(Array.from(timer(s, 't')!.samples)).toEqual([1, 2, 3]);
  });
});

describe('gauge updated flag', () => {
  it('is true for a gauge set this interval (even to the same value) and false when only repeated', async () => {
    const { Aggregator } = await import('../../../src/aggregator/aggregator.js');
    const { parsePacket } = await import('../../../src/parser/scanner.js');
    const { Sample } = await import('../../../src/parser/types.js');
    const { buildConfig } = await import('../../../src/config/load.js');
    const agg = new Aggregator({ config: buildConfig({ flushInterval: 1000 }).config });
    const feed = (t: string): void => {
      const b = Buffer.from(t);
      parsePacket(b, 0, b.length, agg, new Sample());
    };
    feed('g:5|g\nh:1|g');
    const first = agg.flush(1_000_000);
    expect(first.gauges.find((g) => g.key.id === 'g')!.updated).toBe(true);
    feed('g:5|g');
    const second = agg.flush(1_001_000);
    expect(second.gauges.find((g) => g.key.id === 'g')).toMatchObject({ value: 5, updated: true });
    expect(second.gauges.find((g) => g.key.id === 'h')).toMatchObject({ value: 1, updated: false });
  });
});
