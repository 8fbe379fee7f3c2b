/**
 * The exposition writer: chunks (never one giant string), exact byte accounting, and the size
 * budget that leaves the largest series out; values that stay finite from finite input.
 */
import { describe, expect, it } from 'vitest';
import {
  CHUNK_BYTES,
  PREFIX_CACHE_MAX_BYTES,
  prefixBytes,
  renderExposition,
  seriesBytes,
  writeExposition,
} from '../../../../src/backends/prometheus/exposition.js';
import { DEFAULT_BUCKETS, DEFAULT_QUANTILES, SeriesStore, type StoreOptions } from '../../../../src/backends/prometheus/series.js';
import { counter, gauge, samples, set, snapshot, timer } from './helpers.js';
import { promtoolCheck, requireBinary } from './promtool.js';

function store(extra: Partial<StoreOptions> = {}): SeriesStore {
  return new SeriesStore({
    quantiles: DEFAULT_QUANTILES,
    buckets: DEFAULT_BUCKETS,
    observerType: 'summary',
    ttlMs: 60_000,
    mapper: null,
    reservedPrefix: 'tallyd_',
    ...extra,
  });
}

describe('exposition byte accounting', () => {
  for (const observerType of ['summary', 'histogram'] as const) {
    it(`${observerType}: seriesBytes and prefixBytes are exact (UTF-8 labels, NaN, sets, idle sets)`, () => {
      const st = store({ observerType });
      st.apply(
        snapshot({
          counters: [
            counter('c', 12345.5, [
              ['city', 'Zürich'],
              ['k', '日本'],
            ]),
          ],
          gauges: [gauge('g', -1e-7)],
          sets: [set('s', 3), set('idle', 2)],
          timers: [timer('t', [1, 2, 3000], { tags: [['route', '/ä']] }), timer('u', [4])],
        }),
        1000,
      );
      // second flush: `u` gets no values (NaN quantiles), `idle` is not reported (0)
      st.apply(snapshot({ sets: [set('s', 4)], timers: [timer('t', [5], { tags: [['route', '/ä']] })] }), 2000);
      let checked = 0;
      for (const f of st.families.values()) {
        for (const s of f.series.values()) {
          const body = writeExposition([f], st.gen).slice(f.header.length); // one series per family here
          expect(seriesBytes(s, st.gen), body).toBe(Buffer.byteLength(body));
          expect(prefixBytes(s)).toBe(s.prefixes!.reduce((a, p) => a + Buffer.byteLength(p), 0));
          checked++;
        }
      }
      expect(checked).toBe(6);
    });
  }

  it('writes chunks of about CHUNK_BYTES, each ending at a line; the text is the same as one piece', () => {
    const st = store();
    st.apply(
      snapshot({ counters: Array.from({ length: 20_000 }, (_, i) => counter(`app.requests.k${i}`, i, [['host', `h${i % 7}`]])) }),
      1000,
    );
    const r = renderExposition(st.families, st.gen);
    expect(r.chunks.length).toBeGreaterThan(5);
    for (const c of r.chunks) {
      expect(c.length).toBeLessThan(CHUNK_BYTES + 200);
      expect(c[c.length - 1]).toBe(0x0a);
    }
    expect(r.bytes).toBe(r.chunks.reduce((a, c) => a + c.length, 0));
    expect(r.series).toBe(20_000);
    expect(r.droppedSeries).toBe(0);
    const text = Buffer.concat(r.chunks).toString();
    expect(samples(text).get('app_requests_k19999{host="h0"}')).toBe('19999');
  });
});

describe('long series', () => {
  it('are written right, without keeping their line prefixes between renders', () => {
    const st = store();
    const name = `long.${'z'.repeat(PREFIX_CACHE_MAX_BYTES)}`;
    st.apply(snapshot({ timers: [timer(name, [1, 2])], counters: [counter('short', 1)] }), 1000);
    const a = writeExposition(st.families, st.gen);
    expect(writeExposition(st.families, st.gen)).toBe(a);
    expect(samples(a).get(`long_${'z'.repeat(PREFIX_CACHE_MAX_BYTES)}_count`)).toBe('2');
    const long = st.families.get(`long_${'z'.repeat(PREFIX_CACHE_MAX_BYTES)}`)!.series.get('')!;
    expect(long.prefixes).toBeNull();
    expect(st.families.get('short')!.series.get('')!.prefixes).not.toBeNull();
  });
});

describe('exposition size budget', () => {
  it('leaves the largest series out until the rest fits; the rest is untouched and valid', () => {
    const st = store();
    const long = (i: number): string => `flood.${'x'.repeat(2000)}.${i}`;
    st.apply(
      snapshot({
        counters: Array.from({ length: 200 }, (_, i) => counter(`ok.c${i}`, i + 1)),
        timers: Array.from({ length: 40 }, (_, i) => timer(long(i), [i + 1])),
      }),
      1000,
    );
    const full = renderExposition(st.families, st.gen);
    const budget = 40_000;
    expect(full.bytes).toBeGreaterThan(budget * 5);
    const r = renderExposition(st.families, st.gen, budget);
    expect(r.bytes).toBeLessThanOrEqual(budget);
    expect(r.droppedSeries).toBeGreaterThan(0);
    expect(r.droppedSeries + r.series).toBe(240);
    expect(r.bytes + r.droppedBytes).toBeLessThanOrEqual(full.bytes);
    expect(r.largestDropped!.name).toMatch(/^flood_x+_\d+$/);
    const text = Buffer.concat(r.chunks).toString();
    const s = samples(text);
    // every short counter is kept with its value; only flood series went
    for (let i = 0; i < 200; i++) expect(s.get(`ok_c${i}`)).toBe(String(i + 1));
    for (const name of s.keys()) expect(name.startsWith('ok_c') || name.startsWith('flood_')).toBe(true);
    // a family whose series all went has no HELP/TYPE left behind
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    for (const f of families) expect(text).toMatch(new RegExp(`^${f}[{ _]`, 'm'));
  });

  it('a budget the series fit in changes nothing', () => {
    const st = store();
    st.apply(snapshot({ counters: [counter('a', 1)], gauges: [gauge('b', 2)], timers: [timer('c', [3])] }), 1000);
    const full = renderExposition(st.families, st.gen);
    const r = renderExposition(st.families, st.gen, full.bytes);
    expect(r.droppedSeries).toBe(0);
    expect(Buffer.concat(r.chunks).equals(Buffer.concat(full.chunks))).toBe(true);
  });

  it('promtool finds no error in a budgeted exposition', (ctx) => {
    if (!requireBinary('promtool')) return ctx.skip();
    const st = store({ observerType: 'histogram' });
    st.apply(
      snapshot({
        counters: Array.from({ length: 50 }, (_, i) => counter(`ok.c${i}`, 1, [['k', `v${i}`]])),
        timers: Array.from({ length: 30 }, (_, i) => timer(`flood.${'y'.repeat(1000)}`, [i], { tags: [['i', String(i)]] })),
      }),
      1000,
    );
    const r = renderExposition(st.families, st.gen, 20_000);
    expect(r.droppedSeries).toBeGreaterThan(0);
    const out = promtoolCheck(Buffer.concat(r.chunks).toString());
    expect([0, 3], out.output).toContain(out.status);
    expect(out.output).not.toMatch(/error/i);
  });
});

describe('finite input stays finite', () => {
  it('a counter at 1e308 twice holds at Number.MAX_VALUE instead of +Inf', () => {
    const st = store();
    st.apply(snapshot({ counters: [counter('x', 1e308)] }), 1000);
    st.apply(snapshot({ counters: [counter('x', 1e308)] }), 2000);
    st.apply(snapshot({ counters: [counter('x', 5)] }), 3000);
    expect(samples(writeExposition(st.families, st.gen)).get('x')).toBe(String(Number.MAX_VALUE));
  });

  it('summary and histogram sums, counts and buckets hold at Number.MAX_VALUE', () => {
    for (const observerType of ['summary', 'histogram'] as const) {
      const st = store({ observerType });
      for (let i = 1; i <= 3; i++) st.apply(snapshot({ timers: [timer('t', [1e308, 1e308], { count: 1e308 })] }), i * 1000);
      const text = writeExposition(st.families, st.gen);
      expect(text).not.toMatch(/ [+-]Inf$/m);
      const s = samples(text);
      expect(s.get('t_count')).toBe(String(Number.MAX_VALUE));
      expect(s.get('t_sum')).toBe(String(Number.MAX_VALUE));
    }
  });

  it('a gauge of ±Infinity from upstream is shown as ±Number.MAX_VALUE', () => {
    const st = store();
    st.apply(snapshot({ gauges: [gauge('up', Infinity), gauge('down', -Infinity)] }), 1000);
    const s = samples(writeExposition(st.families, st.gen));
    expect(s.get('up')).toBe(String(Number.MAX_VALUE));
    expect(s.get('down')).toBe(String(-Number.MAX_VALUE));
  });
});
