/**
 * What a timer key costs in the timer store (issue 10: "timers that never overflow cost nothing more
 * than today"): a timer that fits its reservoir uses the per-slot arrays of the store before the
 * exponential histogram, and only the timers past their reservoir hold a histogram, beside them.
 */
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/index.js';
import { feedTimer, makeAggregator, timer } from './helpers.js';

interface TimerInternals {
  idx: { capacity: number; byId: Map<string, number> };
  expOf(slot: number): { count(): number } | null;
  expLive: unknown[];
  remove(slot: number): number;
}
const timers = (agg: Aggregator) => (agg as unknown as { timers: TimerInternals & Record<string, unknown> }).timers;

/**
 * The timer store's arrays with an element per slot, and their bytes per slot: a typed array its
 * element size, an array of references 8 bytes (one pointer; node 20 has no pointer compression).
 */
function perSlotArrays(t: Record<string, unknown>, live: number, capacity: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(t)) {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as unknown as { length: number; byteLength: number };
      if (a.length >= capacity) out[name] = a.byteLength / capacity;
    } else if (Array.isArray(v) && v.length >= live) {
      out[name] = 8;
    }
  }
  return out;
}

describe('timer store layout', () => {
  it('a timer that fits its reservoir uses the pre-histogram per-slot arrays: 84 bytes per slot', () => {
    const agg = makeAggregator();
    const n = 1000;
    for (let k = 0; k < n; k++)
      feedTimer(
        agg,
        `t${k}`,
        Array.from({ length: 10 }, (_, i) => i + k),
      );
    const t = timers(agg);
    const arrays = perSlotArrays(t, n, t.idx.capacity);
    // stats (8 doubles a slot), res (the reservoir), histRule (int32), histCounts (the `histogram` bins):
    // the store before the exponential histogram (87efa74). No flags byte, no histogram reference per slot.
    expect(Object.keys(arrays).sort()).toEqual(['histCounts', 'histRule', 'res', 'stats']);
    expect(Object.values(arrays).reduce((a, b) => a + b, 0)).toBe(64 + 8 + 4 + 8);
    expect(t.expLive.length).toBe(0);
    expect(timer(agg.flush(0), 't7')!.n).toBe(10);
  });

  it('histograms are held only for the timers past their reservoir, and follow their timers when one is removed', () => {
    const agg = makeAggregator({ reservoirSize: 16 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    // each timer's own count past the reservoir, so a mix-up between histograms shows
    for (let j = 0; j < names.length; j++)
      feedTimer(
        agg,
        names[j]!,
        Array.from({ length: 100 + j }, (_, i) => 1 + i * (j + 1)),
      );
    feedTimer(agg, 'fits', [1, 2, 3]);
    const t = timers(agg);
    expect(t.expLive.length).toBe(5);
    expect(t.expOf(t.idx.byId.get('fits')!)).toBeNull();
    names.forEach((name, j) => {
      expect(t.expOf(t.idx.byId.get(name)!)!.count()).toBe(100 + j);
    });
    // a timer deleted mid-interval (the admin delete): its histogram goes, the others stay with their keys
    agg.deleteKeys('timers', ['b']);
    expect(t.expLive.length).toBe(4);
    for (const name of ['a', 'c', 'd', 'e']) feedTimer(agg, name, [7]);
    names.forEach((name, j) => {
      if (name !== 'b') expect(t.expOf(t.idx.byId.get(name)!)!.count()).toBe(101 + j);
    });
    const snap = agg.flush(0);
    expect(t.expLive.length).toBe(0);
    expect(timer(snap, 'b')).toBeUndefined();
    names.forEach((name, j) => {
      if (name === 'b') return;
      const s = timer(snap, name)!;
      let inBuckets = s.buckets!.zero;
      for (let k = 0; k < s.buckets!.pos.length; k++) inBuckets += s.buckets!.pos[k]!;
      expect([s.n, inBuckets, s.upper]).toEqual([101 + j, 101 + j, 1 + (99 + j) * (j + 1)]);
    });
    expect(timer(snap, 'fits')!.exact).toBe(true);
  });
});
