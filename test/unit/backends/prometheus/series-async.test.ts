import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../../src/aggregator/snapshot.js';
import { writeExposition } from '../../../../src/backends/prometheus/exposition.js';
import { DEFAULT_BUCKETS, DEFAULT_QUANTILES, SeriesStore, type StoreOptions } from '../../../../src/backends/prometheus/series.js';
import { nextTurn } from '../../../../src/pipeline/scheduler.js';
import { counter, gauge, set, snapshot, timer } from './helpers.js';

function store(extra: Partial<StoreOptions> = {}): SeriesStore {
  return new SeriesStore({
    quantiles: DEFAULT_QUANTILES,
    buckets: DEFAULT_BUCKETS,
    observerType: 'summary',
    ttlMs: 2_500,
    mapper: null,
    reservedPrefix: 'tallyd_',
    ...extra,
  });
}

/** Flush `round`: >256 items of every kind, some keys only in some rounds (so that series expire). */
function flushOf(round: number): Snapshot {
  return snapshot({
    counters: Array.from({ length: 900 }, (_, i) => counter(`c.k${i}`, (i + round) % 4 === 0 ? 0 : i + round)),
    gauges: Array.from({ length: 400 }, (_, i) => gauge(`g.k${(i + round * 50) % 600}`, i * round)),
    sets: Array.from({ length: 300 }, (_, i) => set(`s.k${i}`, (i * round) % 9)),
    timers: Array.from({ length: 300 }, (_, i) =>
      timer(
        `t.k${i % 250}`,
        Array.from({ length: 1 + ((i + round) % 30) }, (_, j) => (j * 13 + i) % 97),
      ),
    ),
  });
}

describe('SeriesStore.applyAsync', () => {
  for (const observerType of ['summary', 'histogram'] as const) {
    it(`${observerType}: the same state and exposition as apply, flush after flush (with expiry)`, async () => {
      const a = store({ observerType });
      const b = store({ observerType });
      for (let round = 1; round <= 5; round++) {
        const snap = flushOf(round);
        const now = round * 1000;
        a.apply(snap, now);
        await b.applyAsync(snap, now, nextTurn, 0);
        expect(writeExposition(b.families.values(), b.gen)).toBe(writeExposition(a.families.values(), a.gen));
        expect(b.stats()).toEqual(a.stats());
      }
      expect(a.stats().expired).toBeGreaterThan(0);
    });
  }

  it('yields to the event loop between slices', async () => {
    const st = store();
    let turns = 0;
    let probing = true;
    const probe = (): void => {
      turns++;
      if (probing) setImmediate(probe);
    };
    setImmediate(probe);
    const before = st.version;
    await st.applyAsync(flushOf(1), 1000, nextTurn, 0);
    probing = false;
    expect(turns).toBeGreaterThan(3);
    expect(st.version).toBeGreaterThan(before + 1); // bumped at the end too: a render made mid-way is not reused
  });
});
