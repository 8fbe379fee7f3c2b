import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/index.js';
import { seededRandom } from '../../../src/aggregator/index.js';
import type { Snapshot } from '../../../src/aggregator/snapshot.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { nextTurn } from '../../../src/pipeline/scheduler.js';
import { counter, gauge, makeAggregator, send, setCount, timer } from './helpers.js';

/** The snapshot without the measured processing time (the one field that may differ). */
function comparable(s: Snapshot): unknown {
  // timers as plain objects with their samples (a computed timer makes its samples view on demand)
  const timers = s.timers.map((t) => ({ ...t, samples: Array.from(t.samples) }));
  return { ...s, timers, internal: { ...s.internal, processingTimeMs: 0 } };
}

/** One interval's traffic, varied per round: >256 keys of each kind so that slices really split. */
function traffic(agg: Aggregator, round: number, random: () => number): void {
  const lines: string[] = [];
  for (let k = 0; k < 600; k++) if ((k + round) % 3 !== 0) lines.push(`c.${k}:${k + round}|c`);
  for (let k = 0; k < 300; k++) {
    if ((k + round) % 4 === 0) continue; // some timers idle this round
    const n = 1 + ((k * 7 + round * 13) % 150); // some past the reservoir size (64)
    for (let v = 0; v < n; v++) lines.push(`t.${k}:${Math.floor(random() * 1000) / 10}|ms${v % 5 === 0 ? '|@0.5' : ''}`);
  }
  for (let k = 0; k < 300; k++) lines.push(`h.${k}:${(k * 3 + round) % 40}|ms`);
  for (let k = 0; k < 400; k++) if ((k + round) % 2 === 0) lines.push(`g.${k}:${k % 3 === 0 ? '+' : ''}${k + round}|g`);
  for (let k = 0; k < 300; k++) for (let m = 0; m < (k % 5) + round; m++) lines.push(`s.${k}:m${m}|s`);
  lines.push('bad line');
  for (let i = 0; i < lines.length; i += 50) send(agg, lines.slice(i, i + 50).join('\n'));
}

const VARIANTS: Array<[string, Partial<TallydConfig>]> = [
  ['defaults', {}],
  [
    'deleteCounters/Timers/Gauges/Sets',
    { deleteCounters: true, deleteTimers: true, deleteGauges: true, deleteSets: true, gaugesMaxTTL: 2 },
  ],
  ['idleKeyTtl 2', { idleKeyTtl: 2 }],
];

describe('flushAsync: the same snapshot as flush', () => {
  for (const [name, over] of VARIANTS) {
    it(`${name}: counters, timers (percentiles, histograms, overflowing reservoirs), gauges, sets, over 4 intervals`, async () => {
      const cfg: Partial<TallydConfig> = {
        percentThreshold: [90, -10, 99.9],
        reservoirSize: 64,
        histogram: [{ metric: 'h.', bins: [5, 10, 20, Infinity] }],
        ...over,
      };
      const a = makeAggregator(cfg, { random: seededRandom(1) });
      const b = makeAggregator(cfg, { random: seededRandom(1) });
      for (let round = 0; round < 4; round++) {
        traffic(a, round, seededRandom(100 + round));
        traffic(b, round, seededRandom(100 + round));
        const sync = a.flush(10_000 * (round + 1));
        // sliceMs 0: a yield to the event loop at every clock check
        const job = b.captureFlush(10_000 * (round + 1));
        const async = await job.run(nextTurn, 0);
        expect(job.slices).toBeGreaterThan(3);
        expect(comparable(async)).toEqual(comparable(sync));
        expect(async.timers.some((t) => !t.exact)).toBe(true);
        expect(async.timers.some((t) => t.histogram?.counts.some((c) => c > 0) === true)).toBe(true);
      }
    });
  }

  it('flushAsync(now) resolves to the same figures', async () => {
    const a = makeAggregator({}, { random: seededRandom(3) });
    const b = makeAggregator({}, { random: seededRandom(3) });
    for (const agg of [a, b]) send(agg, 'x:1|c\nx:2|c\nt:5|ms\nt:7|ms\ng:3|g\ns:a|s\ns:b|s');
    const s = await b.flushAsync(1000);
    expect(comparable(s)).toEqual(comparable(a.flush(1000)));
    expect(counter(s, 'x')).toBe(3);
    expect(timer(s, 't')!.median).toBe(6);
    expect(gauge(s, 'g')).toBe(3);
    expect(setCount(s, 's')).toBe(2);
    expect(s.internal.processingTimeMs).toBeGreaterThanOrEqual(0);
  });
});

describe('flushAsync: the interval is captured at the call', () => {
  it('samples arriving during the compute land in the next interval', async () => {
    const agg = makeAggregator({ reservoirSize: 16 }, { random: seededRandom(5) });
    const many: string[] = [];
    for (let k = 0; k < 2000; k++) many.push(`k.${k}:1|c`);
    for (let i = 0; i < many.length; i += 100) send(agg, many.slice(i, i + 100).join('\n'));
    send(agg, 'c:1|c\nt:1|ms\nt:2|ms\ng:10|g\ns:a|s');

    const pending = agg.flushAsync(1000, 0);
    // right after the capture, and again while the compute is between slices
    send(agg, 'c:100|c\nt:50|ms\ng:+5|g\ns:b|s\ns:c|s');
    let midway = 0;
    const mid = new Promise<void>((resolve) =>
      setImmediate(() => {
        send(agg, 'c:1000|c\nt:60|ms\nnew:1|c');
        midway++;
        resolve();
      }),
    );
    const first = await pending;
    await mid;
    expect(midway).toBe(1);
    expect(counter(first, 'c')).toBe(1);
    expect(Array.from(timer(first, 't')!.samples)).toEqual([1, 2]);
    expect(timer(first, 't')!.n).toBe(2);
    expect(gauge(first, 'g')).toBe(10);
    expect(setCount(first, 's')).toBe(1);
    expect(counter(first, 'new')).toBeUndefined();
    expect(counter(first, 'k.1999')).toBe(1);

    const second = agg.flush(2000);
    expect(counter(second, 'c')).toBe(1100);
    expect(Array.from(timer(second, 't')!.samples)).toEqual([50, 60]);
    expect(gauge(second, 'g')).toBe(15);
    expect(setCount(second, 's')).toBe(2);
    expect(counter(second, 'new')).toBe(1);
    expect(counter(second, 'k.1999')).toBe(0);
  });

  it('a reused (pooled) reservoir holds only the new interval values', async () => {
    const agg = makeAggregator({ reservoirSize: 32 }, { random: seededRandom(9) });
    send(agg, Array.from({ length: 30 }, (_, i) => `t:${i + 100}|ms`).join('\n'));
    expect(timer(await agg.flushAsync(1000), 't')!.n).toBe(30);
    send(agg, 't:1|ms\nt:3|ms');
    const t = timer(await agg.flushAsync(2000), 't')!;
    expect(Array.from(t.samples)).toEqual([1, 3]);
    expect(t.upper).toBe(3);
    expect(agg.dump('timers')).toEqual({ t: [] });
    send(agg, 't:4|ms');
    expect(agg.dump('timers')).toEqual({ t: [4] });
  });

  it('computes chained one after another come out in capture order with their own data', async () => {
    const agg = makeAggregator();
    send(agg, 'a:1|c');
    const p1 = agg.captureFlush(1000);
    send(agg, 'a:2|c');
    const p2 = agg.captureFlush(2000);
    const [s1, s2] = await Promise.all([p1.run(nextTurn, 0), p2.run(nextTurn, 0)]);
    expect(counter(s1, 'a')).toBe(1);
    expect(counter(s2, 'a')).toBe(2);
    expect(s2.timestamp).toBe(2);
  });
});
