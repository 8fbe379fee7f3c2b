import { describe, expect, it } from 'vitest';
import { Mapper, parseMapping } from '../../../../src/backends/prometheus/mapping.js';
import { counter, gauge, samples, set, snapshot, store, timer } from './helpers.js';

function mapperOf(yaml: string): Mapper {
  const r = parseMapping(yaml);
  expect(r.problems).toEqual([]);
  return new Mapper(r.mapping!);
}

describe('SeriesStore + exposition', () => {
  it('counters are cumulative and never reset at a flush', () => {
    const { st, text } = store();
    st.apply(snapshot({ counters: [counter('web.requests', 3)] }), 1000);
    st.apply(snapshot({ counters: [counter('web.requests', 0)] }), 2000);
    st.apply(snapshot({ counters: [counter('web.requests', 2.5)] }), 3000);
    const out = text();
    expect(out).toContain('# TYPE web_requests counter\n');
    expect(samples(out).get('web_requests')).toBe('5.5');
  });

  it('drops negative counter intervals and counts them', () => {
    const { st, text } = store();
    st.apply(snapshot({ counters: [counter('c', 4)] }), 1000);
    st.apply(snapshot({ counters: [counter('c', -1)] }), 2000);
    expect(samples(text()).get('c')).toBe('4');
    expect(st.stats().negativeCounters).toBe(1);
  });

  it('gauges take the value of the snapshot (deltas already applied)', () => {
    const { st, text } = store();
    st.apply(snapshot({ gauges: [gauge('temp', 20)] }), 1000);
    st.apply(snapshot({ gauges: [gauge('temp', 17.5)] }), 2000);
    expect(samples(text()).get('temp')).toBe('17.5');
    expect(text()).toContain('# TYPE temp gauge\n');
  });

  it("sets are gauges of the last interval's unique count", () => {
    const { st, text } = store();
    st.apply(snapshot({ sets: [set('users', 3)] }), 1000);
    expect(samples(text()).get('users')).toBe('3');
    st.apply(snapshot({ sets: [set('users', 0)] }), 2000);
    expect(samples(text()).get('users')).toBe('0');
    st.apply(snapshot({ sets: [set('users', 2)] }), 3000);
    st.apply(snapshot({}), 4000); // not in the snapshot at all (deleteSets)
    expect(samples(text()).get('users')).toBe('0');
  });

  it('timers are summaries in seconds: nearest-rank quantiles of the interval, cumulative sum and count', () => {
    const { st, text } = store();
    const values = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    st.apply(snapshot({ timers: [timer('api.latency', values)] }), 1000);
    let s = samples(text());
    expect(text()).toContain('# TYPE api_latency summary\n');
    expect(s.get('api_latency{quantile="0.5"}')).toBe('0.05');
    expect(s.get('api_latency{quantile="0.9"}')).toBe('0.09');
    expect(s.get('api_latency{quantile="0.99"}')).toBe('0.099');
    expect(Number(s.get('api_latency_sum'))).toBeCloseTo(5.05, 10);
    expect(s.get('api_latency_count')).toBe('100');

    st.apply(snapshot({ timers: [timer('api.latency', [320])] }), 2000);
    s = samples(text());
    expect(s.get('api_latency{quantile="0.5"}')).toBe('0.32');
    expect(s.get('api_latency{quantile="0.99"}')).toBe('0.32');
    expect(Number(s.get('api_latency_sum'))).toBeCloseTo(5.37, 10);
    expect(s.get('api_latency_count')).toBe('101');

    // idle interval: the snapshot carries n = 0; quantiles have no values, totals stay
    st.apply(snapshot({ timers: [timer('api.latency', [])] }), 3000);
    s = samples(text());
    expect(s.get('api_latency{quantile="0.5"}')).toBe('NaN');
    expect(s.get('api_latency_count')).toBe('101');
  });

  it('weights by sample rate like statsd_exporter (count and sum)', () => {
    const { st, text } = store();
    st.apply(snapshot({ timers: [timer('t', [100, 200], { count: 20 })] }), 1000);
    const s = samples(text());
    expect(s.get('t_count')).toBe('20');
    expect(Number(s.get('t_sum'))).toBeCloseTo(3, 10); // 0.3 s × 10
  });

  it('histograms: cumulative buckets, scaled from an overflowing reservoir', () => {
    const m = mapperOf(`
mappings:
  - match: "req.*"
    name: "req_$1_seconds"
    observer_type: histogram
    buckets: [0.1, 0.5, 1]
`);
    const { st, text } = store({ mapper: m });
    st.apply(snapshot({ timers: [timer('req.get', [50, 100, 300, 700, 2000])] }), 1000);
    let s = samples(text());
    expect(text()).toContain('# TYPE req_get_seconds histogram\n');
    expect(s.get('req_get_seconds_bucket{le="0.1"}')).toBe('2');
    expect(s.get('req_get_seconds_bucket{le="0.5"}')).toBe('3');
    expect(s.get('req_get_seconds_bucket{le="1"}')).toBe('4');
    expect(s.get('req_get_seconds_bucket{le="+Inf"}')).toBe('5');
    expect(s.get('req_get_seconds_count')).toBe('5');
    // 1000 values of which the reservoir kept 4: each stands for 250
    st.apply(snapshot({ timers: [timer('req.get', Array(1000).fill(50), { samples: [50, 50, 600, 600] })] }), 2000);
    s = samples(text());
    expect(s.get('req_get_seconds_bucket{le="0.1"}')).toBe('502');
    expect(s.get('req_get_seconds_bucket{le="0.5"}')).toBe('503');
    expect(s.get('req_get_seconds_bucket{le="1"}')).toBe('1004');
    expect(s.get('req_get_seconds_bucket{le="+Inf"}')).toBe('1005');
  });

  it('tags become labels; tag order never splits a series', () => {
    const { st, text } = store();
    st.apply(
      snapshot({
        counters: [
          counter('hits', 1, [
            ['region', 'eu'],
            ['host', 'a'],
          ]),
        ],
      }),
      1000,
    );
    st.apply(
      snapshot({
        counters: [
          counter('hits', 2, [
            ['host', 'a'],
            ['region', 'eu'],
          ]),
        ],
      }),
      2000,
    );
    st.apply(snapshot({ counters: [counter('hits', 7, [['host', 'b']])] }), 3000);
    const s = samples(text());
    expect(s.get('hits{host="a",region="eu"}')).toBe('3');
    expect(s.get('hits{host="b"}')).toBe('7');
    expect(text().match(/# TYPE hits/g)).toHaveLength(1);
  });

  it('sanitises tag names, drops empty values, renames quantile on summaries, escapes values', () => {
    const { st, text } = store();
    st.apply(
      snapshot({
        timers: [
          timer('t', [5], {
            tags: [
              ['k8s.pod', 'p"1'],
              ['bare', ''],
              ['quantile', 'x'],
            ],
          }),
        ],
      }),
      1000,
    );
    expect(samples(text()).get('t{exported_quantile="x",k8s_pod="p\\"1",quantile="0.5"}')).toBe('0.005');
  });

  it('mapping labels win over tags unless honor_labels', () => {
    const m = mapperOf(`
mappings:
  - match: "a.*"
    name: a
    labels: { env: mapped, kind: "$1" }
  - match: "b.*"
    name: b
    honor_labels: true
    labels: { env: mapped }
`);
    const { st, text } = store({ mapper: m });
    st.apply(snapshot({ counters: [counter('a.x', 1, [['env', 'tag']]), counter('b.x', 1, [['env', 'tag']])] }), 1000);
    const s = samples(text());
    expect(s.get('a{env="mapped",kind="x"}')).toBe('1');
    expect(s.get('b{env="tag"}')).toBe('1');
  });

  it('several keys mapped to one series add up (counters) and merge (timers)', () => {
    const m = mapperOf(`
mappings:
  - match: "*.signup"
    name: signups
  - match: "*.lat"
    name: lat
`);
    const { st, text } = store({ mapper: m });
    st.apply(
      snapshot({
        counters: [counter('web.signup', 2), counter('app.signup', 3)],
        timers: [timer('web.lat', [10, 20]), timer('app.lat', [30, 40])],
      }),
      1000,
    );
    const s = samples(text());
    expect(s.get('signups')).toBe('5');
    expect(s.get('lat_count')).toBe('4');
    expect(s.get('lat{quantile="0.5"}')).toBe('0.02');
    expect(s.get('lat{quantile="0.99"}')).toBe('0.04');
  });

  it('action: drop removes a metric', () => {
    const { st, text } = store({ mapper: mapperOf('mappings:\n  - match: "debug.*"\n    action: drop\n') });
    st.apply(snapshot({ counters: [counter('debug.x', 1), counter('kept', 1)] }), 1000);
    expect(text()).not.toContain('debug');
    expect(samples(text()).get('kept')).toBe('1');
  });

  it('skips the daemon’s own statsd.* counters', () => {
    const { st, text } = store({ skipKeys: new Set(['statsd.packets_received']) });
    st.apply(snapshot({ counters: [counter('statsd.packets_received', 4), counter('x', 1)] }), 1000);
    expect(text()).not.toContain('statsd_packets_received');
  });

  describe('conflicts never break the exposition: the later one is dropped and counted', () => {
    it('same name, two types', () => {
      const { st, conflicts, text } = store();
      st.apply(snapshot({ counters: [counter('foo', 1)], gauges: [gauge('foo', 5)] }), 1000);
      expect(samples(text()).get('foo')).toBe('1');
      expect(text().match(/# TYPE foo /g)).toHaveLength(1);
      expect(conflicts).toEqual([expect.objectContaining({ name: 'foo', statsdType: 'gauge', reason: 'type' })]);
      // counted once per key, not once per flush
      st.apply(snapshot({ gauges: [gauge('foo', 6)] }), 2000);
      expect(st.stats().conflicts).toBe(1);
    });

    it('a name that collides with a summary’s _sum / _count', () => {
      const { st, conflicts, text } = store();
      st.apply(snapshot({ timers: [timer('rt', [1])] }), 1000);
      st.apply(snapshot({ counters: [counter('rt_count', 1)], gauges: [gauge('rt.sum', 3)] }), 2000);
      expect(conflicts.map((c) => c.reason)).toEqual(['name_collision', 'name_collision']);
      expect(samples(text()).get('rt_count')).toBe('1');
    });

    it('a summary whose _count is already a counter', () => {
      const { st, conflicts } = store();
      st.apply(snapshot({ counters: [counter('q_count', 1)] }), 1000);
      st.apply(snapshot({ timers: [timer('q', [1])] }), 2000);
      expect(conflicts[0]).toMatchObject({ name: 'q', reason: 'name_collision' });
    });

    it('tallyd_ names are reserved', () => {
      const { st, conflicts, text } = store({ reservedNames: ['process_cpu_seconds_total'] });
      st.apply(snapshot({ counters: [counter('tallyd.x', 1), counter('process.cpu.seconds.total', 1)] }), 1000);
      expect(text()).toBe('');
      expect(conflicts.map((c) => c.reason)).toEqual(['reserved', 'reserved']);
    });

    it('the dropped one gets its name once the holder expired', () => {
      const { st, text } = store({ ttlMs: 10_000 });
      st.apply(snapshot({ counters: [counter('foo', 1)] }), 0);
      st.apply(snapshot({ gauges: [gauge('foo', 5)] }), 5_000);
      st.apply(snapshot({ gauges: [gauge('foo', 6)] }), 10_000); // counter expires at this flush
      st.apply(snapshot({ gauges: [gauge('foo', 7)] }), 11_000);
      expect(text()).toContain('# TYPE foo gauge');
      expect(samples(text()).get('foo')).toBe('7');
    });
  });

  describe('TTL', () => {
    it('removes a series with no update for its TTL; an idle snapshot entry is not an update', () => {
      const { st, text } = store({ ttlMs: 60_000 });
      st.apply(snapshot({ counters: [counter('a', 1), counter('b', 1)] }), 0);
      st.apply(snapshot({ counters: [counter('a', 0), counter('b', 1)] }), 30_000);
      st.apply(snapshot({ counters: [counter('a', 0), counter('b', 0)] }), 59_999);
      expect(samples(text()).has('a')).toBe(true);
      st.apply(snapshot({ counters: [counter('a', 0), counter('b', 0)] }), 60_000);
      expect(samples(text()).has('a')).toBe(false);
      expect(samples(text()).get('b')).toBe('2');
      expect(st.stats().expired).toBe(1);
      // it comes back from zero (a counter reset for Prometheus)
      st.apply(snapshot({ counters: [counter('a', 4)] }), 61_000);
      expect(samples(text()).get('a')).toBe('4');
    });

    it('an idle gauge (repeated, not updated) ages; one set again, even to the same value, is fresh', () => {
      const { st, text } = store({ ttlMs: 10_000 });
      st.apply(snapshot({ gauges: [gauge('g', 1), gauge('u', 1)] }), 0);
      st.apply(snapshot({ gauges: [gauge('g', 1, [], false), gauge('u', 1, [], true)] }), 5_000);
      st.apply(snapshot({ gauges: [gauge('g', 1, [], false), gauge('u', 1, [], true)] }), 10_000);
      const s = samples(text());
      expect(s.has('g')).toBe(false);
      expect(s.get('u')).toBe('1');
    });

    it('a mapping ttl overrides the default; ttl 0 never expires', () => {
      const m = mapperOf(`
mappings:
  - match: "short.*"
    name: short_$1
    ttl: 2s
  - match: "forever.*"
    name: forever_$1
    ttl: 0
`);
      const { st, text } = store({ mapper: m, ttlMs: 60_000 });
      st.apply(snapshot({ counters: [counter('short.a', 1), counter('forever.a', 1), counter('normal', 1)] }), 0);
      st.apply(snapshot({}), 2_000);
      expect(samples(text()).has('short_a')).toBe(false);
      st.apply(snapshot({}), 1e9);
      expect(samples(text()).has('normal')).toBe(false);
      expect(samples(text()).get('forever_a')).toBe('1');
    });
  });

  it('counts live series per type', () => {
    const { st } = store();
    st.apply(snapshot({ counters: [counter('c', 1)], gauges: [gauge('g', 1)], sets: [set('s', 1)], timers: [timer('t', [1])] }), 0);
    expect(st.stats().series).toEqual({ counter: 1, gauge: 2, summary: 1, histogram: 0 });
  });

  it('does not mutate the snapshot', () => {
    const { st } = store();
    const snap = snapshot({ counters: [counter('c', 1)], timers: [timer('t', [3, 1, 2])] });
    const before = JSON.stringify(snap, (_k, v: unknown) => (v instanceof Float64Array ? [...v] : v));
    Object.freeze(snap.counters);
    st.apply(snap, 0);
    expect(JSON.stringify(snap, (_k, v: unknown) => (v instanceof Float64Array ? [...v] : v))).toBe(before);
  });
});
