import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/aggregator/snapshot.js';
import {
  formatGraphite,
  formatGraphiteAsync,
  type GraphiteExtra,
  GraphiteFormatter,
  graphiteFormatOptions,
  namespaceConfigFrom,
} from '../../../src/backends/graphite/format.js';
import { OutgoingFlush } from '../../../src/backends/graphite/outgoing.js';
import { config, counter, graphiteConfig, key, referenceSnapshot, snapshot, TS, timer } from './fixtures.js';

const EXTRA: GraphiteExtra = { lastException: 0, lastFlush: 1795421994, flushTime: 12, flushLength: 670, now: () => 1000 };

/** A snapshot large enough to be cut into many slices, with tags, histograms and idle timers. */
function bigSnapshot(): Snapshot {
  const counters = Array.from({ length: 5000 }, (_, i) => counter(`c.${i}`, i * 1.5, 10_000, i % 7 === 0 ? [['host', 'h' + i]] : []));
  const timers = Array.from({ length: 1500 }, (_, i) =>
    timer(`t.${i}`, i % 10 === 0 ? [] : Array.from({ length: 1 + (i % 40) }, (_, j) => (j * 37 + i) % 101), {
      thresholds: [90, -10, 99.9],
      histogram: i % 3 === 0 ? { names: ['bin_10', 'bin_inf'], bounds: [10, Infinity], counts: [i % 5, 1] } : null,
    }),
  );
  const gauges = Array.from({ length: 3000 }, (_, i) => ({ key: key(`g.${i}`), value: i - 1500.25, updated: true }));
  const sets = Array.from({ length: 3000 }, (_, i) => ({ key: key(`s.${i}`), count: i % 17 }));
  return snapshot({ timestamp: TS, counters, timers, gauges, sets });
}

describe('formatGraphiteAsync: the same bytes as formatGraphite', () => {
  const cases: Array<[string, Parameters<typeof config>[0]]> = [
    ['legacy namespace', {}],
    [
      'new namespace, suffix, no counts, filtered timer fields',
      {
        graphite: graphiteConfig({ legacyNamespace: false, globalPrefix: 'pfx', globalSuffix: 'sfx' }),
        flushCounts: false,
        calculatedTimerMetrics: ['count', 'mean_percent', 'histogram'],
      },
    ],
  ];
  for (const [name, over] of cases) {
    for (const [which, snap] of [
      ['reference flush', referenceSnapshot()],
      ['large flush', bigSnapshot()],
    ] as const) {
      it(`${name}, ${which}`, async () => {
        const o = graphiteFormatOptions(namespaceConfigFrom(config(over)));
        const extra: GraphiteExtra = { ...EXTRA, droppedFlushes: 2, droppedLines: 40 };
        const sync = formatGraphite(snap, o, extra);
        const async = await formatGraphiteAsync(snap, o, extra, 0);
        expect(async.lines).toBe(sync.lines);
        expect(async.numStats).toBe(sync.numStats);
        expect(async.timestamp).toBe(sync.timestamp);
        expect(async.bytes.equals(sync.bytes)).toBe(true);
      });
    }
  }

  it('really works in slices, and calculationtime is the sum of the slices', async () => {
    const snap = bigSnapshot();
    const o = graphiteFormatOptions(namespaceConfigFrom(config()));
    let clock = 0;
    // each slice reads the clock twice (start, end) and is charged 3 ms by this clock
    const out = new OutgoingFlush({ timestamp: TS });
    const f = new GraphiteFormatter(snap, o, { ...EXTRA, now: () => (clock += 1.5) }, out);
    let slices = 0;
    while (!f.step(0)) slices++;
    slices++;
    expect(slices).toBeGreaterThan(10);
    const text = out.peekUnsent().toString('utf8');
    expect(text).toContain(`stats.statsd.graphiteStats.calculationtime ${Math.round(slices * 1.5)} ${TS}\n`);
    expect(() => new GraphiteFormatter(snap, o, EXTRA, new OutgoingFlush({ timestamp: TS })).payload).toThrow();
  });
});
