/**
 * Values stay finite (issue 9, point 8), names that sanitise to nothing are bad lines (point 10), and a
 * flush holds any number of percent thresholds (point 9: the per-timer count was a Uint8).
 */
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../../src/aggregator/aggregator.js';
import { addSaturated, SATURATED, saturate } from '../../../src/aggregator/finite.js';
import { mergePartials, SourceTotals } from '../../../src/aggregator/merge.js';
import { seededRandom } from '../../../src/aggregator/reservoir.js';
import type { Snapshot, TimerStat } from '../../../src/aggregator/snapshot.js';
import { decodePartial, PartialDictionary, PartialEncoder } from '../../../src/cluster/protocol.js';
import { WorkerAggregator } from '../../../src/cluster/worker.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { BAD_LINE_REASONS, BadLine, Sample } from '../../../src/parser/types.js';
import { counter, gauge, makeAggregator, rate, send, testConfig, timer } from './helpers.js';

const MAX = Number.MAX_VALUE;

/** Every number a timer reports (percentiles included). */
function timerNumbers(t: TimerStat): number[] {
  const out = [t.count, t.countPs, t.lower, t.upper, t.sum, t.sumSquares, t.mean, t.median, t.std];
  for (const p of t.percentiles) out.push(p.count, p.mean, p.bound, p.sum, p.sumSquares);
  return out;
}

function allNumbers(s: Snapshot): number[] {
  const out: number[] = [];
  for (const c of s.counters.toArray()) out.push(c.count, c.rate);
  for (const g of s.gauges) out.push(g.value);
  for (const t of s.timers) out.push(...timerNumbers(t));
  return out;
}

describe('saturate', () => {
  it('clamps ±Infinity to ±MAX_VALUE, NaN to 0, and leaves finite values alone', () => {
    expect(SATURATED).toBe(MAX);
    expect(saturate(Infinity)).toBe(MAX);
    expect(saturate(-Infinity)).toBe(-MAX);
    expect(saturate(NaN)).toBe(0);
    expect(saturate(-0)).toBe(-0);
    expect(saturate(1.5)).toBe(1.5);
    expect(addSaturated(MAX, MAX)).toBe(MAX);
    expect(addSaturated(-MAX, -1e308)).toBe(-MAX);
    expect(addSaturated(MAX, -1)).toBe(MAX - 1);
    expect(addSaturated(0.1, 0.2)).toBe(0.1 + 0.2);
  });
});

describe('accumulators saturate at ±MAX_VALUE', () => {
  it('counters, counter rates over a short interval, gauge deltas', () => {
    const agg = makeAggregator({ flushInterval: 1 });
    send(agg, 'c.up:1e308|c\nc.up:1e308|c\nc.down:-1e308|c\nc.down:-1e308|c\nc.rate:1|c|@0.000001\nc.rate:1e303|c|@0.000001');
    send(agg, 'g.up:1e308|g\ng.up:+1e308|g\ng.down:-1e308|g\ng.down:-1e308|g');
    const s = agg.flush(1000);
    expect(counter(s, 'c.up')).toBe(MAX);
    expect(counter(s, 'c.down')).toBe(-MAX);
    expect(counter(s, 'c.rate')).toBe(MAX); // 1e303 × 1e6
    expect(rate(s, 'c.up')).toBe(MAX); // MAX / 0.001 s
    expect(gauge(s, 'g.up')).toBe(MAX);
    expect(gauge(s, 'g.down')).toBe(-MAX);
    expect(allNumbers(s).filter((v) => !Number.isFinite(v))).toEqual([]);
    // a saturated counter still moves back by what fits
    send(agg, 'g.up:-1e308|g');
    expect(gauge(agg.flush(2000), 'g.up')).toBe(MAX - 1e308);
  });

  it('timers: sum, sum of squares, median, std and percentiles (top ones too), exact and past the reservoir', () => {
    const agg = makeAggregator({ percentThreshold: [50, 90, -50, 100], reservoirSize: 16 });
    send(agg, 't.sq:1e200|ms\nt.sq:1e200|ms');
    send(agg, 't.big:1e308|ms\nt.big:1.5e308|ms');
    send(agg, Array.from({ length: 40 }, (_, i) => `t.over:${i % 2 === 0 ? '1e308' : '1.7e308'}|ms`).join('\n'));
    const s = agg.flush(1000);
    const sq = timer(s, 't.sq')!;
    expect(sq.sum).toBe(2e200);
    expect(sq.sumSquares).toBe(MAX);
    expect(sq.mean).toBe(1e200);
    expect(sq.std).toBe(0);
    const big = timer(s, 't.big')!;
    expect(big.sum).toBe(MAX);
    expect(big.median).toBe(1.25e308);
    expect(big.mean).toBe(MAX / 2);
    const over = timer(s, 't.over')!;
    expect(over.exact).toBe(false);
    expect(over.sum).toBe(MAX);
    expect(allNumbers(s).filter((v) => !Number.isFinite(v))).toEqual([]);
    // ordinary values keep their exact figures (the checks change nothing below the overflow)
    send(agg, 't.ok:1|ms\nt.ok:2|ms\nt.ok:4|ms\nt.ok:7|ms');
    const ok = timer(agg.flush(2000), 't.ok')!;
    expect([ok.sum, ok.sumSquares, ok.median, ok.mean]).toEqual([14, 70, 3, 3.5]);
  });

  it('workers > 1: merged counters, gauges and timers saturate too', () => {
    const config = testConfig();
    const primary = new Aggregator({ config, random: seededRandom(1) });
    const workers = [0, 1].map((i) => ({
      w: new WorkerAggregator(config, { random: seededRandom(2 + i) }),
      enc: new PartialEncoder(),
      dict: new PartialDictionary(),
      totals: new SourceTotals(),
    }));
    const scratch = new Sample();
    for (const wk of workers) {
      const buf = Buffer.from('m.c:1e308|c\nm.g:+1e308|g\nm.t:1e200|ms\nm.t:1e300|ms');
      wk.w.countPacket(parsePacket(buf, 0, buf.length, wk.w, scratch));
    }
    const bufs = workers.map((wk) => {
      wk.w.exportTo(wk.enc);
      return wk.enc.finish();
    });
    mergePartials(
      primary,
      workers.map((wk, i) => ({ totals: wk.totals, feed: (v) => decodePartial(bufs[i]!, wk.dict, v) })),
    );
    const s = primary.flush(1000);
    expect(counter(s, 'm.c')).toBe(MAX);
    expect(gauge(s, 'm.g')).toBe(MAX);
    expect(timer(s, 'm.t')!.sumSquares).toBe(MAX);
    expect(allNumbers(s).filter((v) => !Number.isFinite(v))).toEqual([]);
  });
});

describe('names that sanitise to nothing are bad lines (empty_key)', () => {
  it('are counted each time, by reason, and never become a series', () => {
    const agg = makeAggregator();
    send(agg, ['!!!:1|c', '日本:2|c', '...:3|g', '#k=v:5|c', '[k=v]:1|ms', '!!!:1|c', ',x=y:1|s', 'ok:1|c'].join('\n'));
    const s = agg.flush(1000);
    expect(agg.badLinesByReason[BadLine.EmptyKey]).toBe(7);
    expect(BAD_LINE_REASONS[BadLine.EmptyKey]).toBe('empty_key');
    expect(counter(s, 'statsd.bad_lines_seen')).toBe(7);
    const ids = [...s.counters.toArray(), ...s.gauges, ...s.timers, ...s.sets].map((x) => x.key.name);
    expect(ids.filter((n) => /^\.*$/.test(n))).toEqual([]);
    expect(counter(s, 'ok')).toBe(1);
  });

  it('a flood of one nameless key is counted line by line (from a cache after the first), and forgotten when sanitising is turned off', () => {
    const agg = makeAggregator();
    for (let i = 0; i < 50; i++) send(agg, Array.from({ length: 20 }, () => '!!!:1|c|#a:b').join('\n'));
    agg.flush(1000);
    expect(agg.badLinesByReason[BadLine.EmptyKey]).toBe(1000);
    agg.reconfigure(testConfig({ keyNameSanitize: false }));
    agg.flush(2000); // (a reconfigure applies at a flush)
    send(agg, '!!!:1|c|#a:b');
    expect(counter(agg.flush(3000), '!!!;a=b')).toBe(1);
    expect(agg.badLinesByReason[BadLine.EmptyKey]).toBe(1000);
  });

  it('with keyNameSanitize off, a raw name is kept unless it is empty once tags are split off', () => {
    const agg = makeAggregator({ keyNameSanitize: false });
    send(agg, '!!!:1|c\n#k=v:1|c');
    const s = agg.flush(1000);
    expect(counter(s, '!!!')).toBe(1);
    expect(agg.badLinesByReason[BadLine.EmptyKey]).toBe(1);
  });
});

describe('percent thresholds', () => {
  it('a flush reports every threshold, past 255 too (validation allows 100; the columns hold more)', () => {
    const list = Array.from({ length: 300 }, (_, i) => (i + 1) / 3);
    const agg = makeAggregator({ percentThreshold: list });
    send(agg, Array.from({ length: 600 }, (_, i) => `many:${i + 1}|ms`).join('\n'));
    const t = timer(agg.flush(1000), 'many')!;
    expect(t.percentiles.length).toBe(300);
    expect(t.percentiles[299]!.bound).toBe(600);
    expect(t.percentiles[0]!.bound).toBe(2);
  });
});
