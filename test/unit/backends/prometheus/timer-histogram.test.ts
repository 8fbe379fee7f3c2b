/** Prometheus figures of a timer past its reservoir: from its exponential histogram (issue 10). */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../src/aggregator/reservoir.js';
import type { Snapshot } from '../../../../src/aggregator/snapshot.js';
import { writeExposition } from '../../../../src/backends/prometheus/exposition.js';
import { Mapper, parseMapping } from '../../../../src/backends/prometheus/mapping.js';
import { DEFAULT_BUCKETS, SeriesStore } from '../../../../src/backends/prometheus/series.js';
import { makeAggregator, send } from '../../aggregator/helpers.js';
import { samples as parse } from './helpers.js';

const N = 200_000;

function latencies(): number[] {
  const r = seededRandom(8);
  return Array.from(
    { length: N },
    () => Math.round(Math.exp(3 + 0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())) * 1000) / 1000,
  );
}

function snapshotOf(values: number[]) {
  const agg = makeAggregator({ percentThreshold: [50, 90, 99, 99.9] });
  for (let i = 0; i < values.length; i += 500)
    send(
      agg,
      values
        .slice(i, i + 500)
        .map((v) => `lat:${v}|ms`)
        .join('\n'),
    );
  return agg.flush(0);
}

describe('Prometheus, timer past its reservoir', () => {
  const values = latencies();
  const sorted = [...values].sort((a, b) => a - b);
  const snap = snapshotOf(values);
  const t = snap.timers.find((x) => x.key.id === 'lat')!;

  it("summary quantiles come from the same estimator as Graphite's upper_N, within 1 % of exact", () => {
    expect(t.buckets).toBeTruthy();
    const st = new SeriesStore({
      quantiles: [0.5, 0.9, 0.99, 0.999],
      buckets: DEFAULT_BUCKETS,
      observerType: 'summary',
      ttlMs: 0,
      mapper: null,
    });
    st.apply(snap, 1000);
    const out = parse(writeExposition(st.families.values(), st.gen));
    for (const [q, suffix] of [
      ['0.5', '50'],
      ['0.9', '90'],
      ['0.99', '99'],
      ['0.999', '99_9'],
    ] as const) {
      const got = Number(out.get(`lat{quantile="${q}"}`));
      const upper = t.percentiles.find((p) => p.suffix === suffix)!.bound;
      expect(got).toBeCloseTo(upper / 1000, 12);
      const exact = sorted[Math.ceil(Number(q) * N) - 1]! / 1000;
      expect(Math.abs(got - exact) / exact, q).toBeLessThan(0.01);
    }
    expect(Number(out.get('lat_count'))).toBe(N);
  });

  it('histogram buckets: within one exponential bucket of the exact counts; +Inf equals _count', () => {
    const bounds = [0.005, 0.01, 0.02, 0.025, 0.05, 0.1];
    const st = new SeriesStore({ quantiles: [], buckets: bounds, observerType: 'histogram', ttlMs: 0, mapper: null });
    st.apply(snap, 1000);
    const out = parse(writeExposition(st.families.values(), st.gen));
    for (const le of bounds) {
      const got = Number(out.get(`lat_bucket{le="${le}"}`));
      const exact = sorted.filter((v) => v / 1000 <= le).length;
      expect(Math.abs(got - exact) / N, String(le)).toBeLessThan(0.005);
    }
    expect(Number(out.get('lat_bucket{le="+Inf"}'))).toBe(N);
  });

  it('histogram buckets a mapping asks for are counted exactly at ingest (integer ms with ties at the bounds)', () => {
    const bounds = [0.005, 0.01, 0.02, 0.025, 0.05, 0.1];
    const r = seededRandom(3);
    const ints = Array.from({ length: 50_000 }, () =>
      Math.round(Math.exp(2.5 + 0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()))),
    );
    const exposition = (exact: boolean): Map<string, string> => {
      const st = new SeriesStore({ quantiles: [], buckets: bounds, observerType: 'histogram', ttlMs: 0, mapper: null });
      const agg = makeAggregator({ reservoirSize: 64 });
      if (exact) agg.setTimerBounds((k) => st.timerBounds(k));
      for (let i = 0; i < ints.length; i += 500)
        send(
          agg,
          ints
            .slice(i, i + 500)
            .map((v) => `ints:${v}|ms`)
            .join('\n'),
        );
      const snap: Snapshot = agg.flush(0);
      const t = snap.timers.find((x) => x.key.id === 'ints')!;
      expect(t.buckets).toBeTruthy(); // past its reservoir
      expect(t.le != null).toBe(exact);
      st.apply(snap, 1000);
      return parse(writeExposition(st.families.values(), st.gen));
    };
    const exact = exposition(true);
    const estimated = exposition(false);
    let off = 0;
    for (const le of bounds) {
      const want = ints.filter((v) => v / 1000 <= le).length;
      expect(Number(exact.get(`ints_bucket{le="${le}"}`)), String(le)).toBe(want);
      off = Math.max(off, Math.abs(Number(estimated.get(`ints_bucket{le="${le}"}`)) - want));
    }
    // (without it, ties exactly at a bound are split in proportion: off by hundreds)
    expect(off).toBeGreaterThan(100);
    expect(Number(exact.get('ints_bucket{le="+Inf"}'))).toBe(ints.length);
  });

  it('several keys feeding one summary, past their reservoirs and not, at two mapping scales: quantiles of the union', () => {
    const r = parseMapping(`
mappings:
  - match: "a.lat"
    name: lat
  - match: "b.lat"
    name: lat
    scale: 2
  - match: "c.lat"
    name: lat
`);
    expect(r.problems).toEqual([]);
    const st = new SeriesStore({
      quantiles: [0.5, 0.9, 0.99],
      buckets: DEFAULT_BUCKETS,
      observerType: 'summary',
      ttlMs: 0,
      mapper: new Mapper(r.mapping!),
    });
    const agg = makeAggregator({ reservoirSize: 256 });
    const rnd = seededRandom(30);
    const draw = () => Math.round(Math.exp(3 + 0.8 * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd())) * 1000) / 1000;
    const all: number[] = []; // exposed values, in seconds
    const feed = (key: string, n: number, scale: number) => {
      const vals = Array.from({ length: n }, draw);
      for (let i = 0; i < n; i += 500)
        send(
          agg,
          vals
            .slice(i, i + 500)
            .map((v) => `${key}:${v}|ms`)
            .join('\n'),
        );
      for (const v of vals) all.push((v / 1000) * scale);
    };
    feed('a.lat', 20_000, 1); // past its reservoir
    feed('b.lat', 10_000, 2); // past it too, another scale
    feed('c.lat', 100, 1); // within its reservoir: values
    st.apply(agg.flush(0), 1000);
    const out = parse(writeExposition(st.families.values(), st.gen));
    all.sort((x, y) => x - y);
    for (const q of [0.5, 0.9, 0.99]) {
      const want = all[Math.ceil(q * all.length) - 1]!;
      const got = Number(out.get(`lat{quantile="${q}"}`));
      expect(Math.abs(got - want) / want, String(q)).toBeLessThan(0.012);
    }
  });
});
