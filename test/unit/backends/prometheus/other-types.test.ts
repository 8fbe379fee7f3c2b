/**
 * Prometheus series of a metric type beyond the core four (src/backends/prometheus/other-types.ts): the
 * fake "max" type of test/fake-type/max-type.ts, registered as its module registers itself, fed by the
 * real parser and aggregator, folded by the series store and rendered: a gauge per key named and
 * labelled as a statsd gauge's, mapped by rules that match its kind, conflicting with a core type's
 * family of the same name as the core types conflict, the same when folded in slices. A type registered
 * as a counter (hand-made stats, no store needed) is cumulative and refuses negative values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../../src/aggregator/snapshot.js';
import { Mapper, parseMapping } from '../../../../src/backends/prometheus/mapping.js';
import { registerPrometheusType } from '../../../../src/backends/prometheus/other-types.js';
import { nextTurn } from '../../../../src/pipeline/scheduler.js';
import { type MaxStat, registerMaxType } from '../../../fake-type/max-type.js';
import { makeAggregator, send } from '../../aggregator/helpers.js';
import { key, samples, snapshot, store } from './helpers.js';

let unregister: () => void = () => undefined;
beforeAll(() => {
  unregister = registerMaxType();
});
afterAll(() => unregister());

/** An aggregator that keeps its keys, fed by StatsD text; flush() returns the interval's snapshot. */
function daemonPath(): { send(text: string): void; flush(): Snapshot } {
  const agg = makeAggregator();
  let t = 1_700_000_000_000;
  return { send: (text) => send(agg, text), flush: () => agg.flush((t += 1000)) };
}

describe('Prometheus series of a registered fifth type (the fake max type)', () => {
  it('each key is a gauge of its interval maximum, named and labelled as a statsd gauge, kept until its TTL', () => {
    const { st, text } = store({ ttlMs: 2500 });
    const d = daemonPath();
    d.send('req.size:3|mx\nreq.size:9|mx\nreq.size:4|mx\nlat:2|mx|#env:prod,az:b\nhits:1|c');
    st.apply(d.flush(), 1000);
    expect(text()).toContain('# TYPE req_size gauge\n');
    let s = samples(text());
    expect(s.get('req_size')).toBe('9');
    expect(s.get('lat{az="b",env="prod"}')).toBe('2');
    expect(s.get('hits')).toBe('1'); // the core types beside it
    d.send('req.size:1|mx');
    st.apply(d.flush(), 2000);
    s = samples(text());
    expect(s.get('req_size')).toBe('1'); // this interval's maximum
    expect(s.get('lat{az="b",env="prod"}')).toBe('2'); // no line: the last value, as a gauge's
    st.apply(d.flush(), 4000); // lat: 3000 ms idle, past its 2500 ms TTL
    expect(samples(text()).has('lat{az="b",env="prod"}')).toBe(false);
    expect(samples(text()).get('req_size')).toBe('1');
  });

  it('a mapping rule matching gauges maps it; a name a core type already holds is a conflict, reported under its store name', () => {
    const r = parseMapping(`
mappings:
  - match: "peak.*"
    match_metric_type: gauge
    name: "peak_$1_max"
    labels: { src: max }
`);
    expect(r.problems).toEqual([]);
    const { st, text, conflicts } = store({ mapper: new Mapper(r.mapping!) });
    const d = daemonPath();
    d.send('peak.cpu:80|mx\ntemp:20|g\ntemp:31|mx');
    st.apply(d.flush(), 1000);
    const s = samples(text());
    expect(s.get('peak_cpu_max{src="max"}')).toBe('80');
    expect(s.get('temp')).toBe('20');
    expect(conflicts).toEqual([{ name: 'temp', key: 'temp', statsdType: 'max', reason: 'type', holder: 'gauge temp' }]);
  });

  it('folded in slices, the same exposition as at once', async () => {
    const d = daemonPath();
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`m.${i}:${i % 97}|mx${i % 9 === 0 ? '|#h:x' + (i % 5) : ''}`);
    for (let i = 0; i < lines.length; i += 25) d.send(lines.slice(i, i + 25).join('\n'));
    const snap = d.flush();
    const a = store();
    const b = store();
    a.st.apply(snap, 1000);
    await b.st.applyAsync(snap, 1000, nextTurn, 0);
    expect(b.text()).toBe(a.text());
    expect(samples(a.text()).get('m_2999')).toBe(String(2999 % 97));
  });

  it('a type registered as a counter is cumulative and refuses negative values (counted)', () => {
    interface Sum {
      readonly key: ReturnType<typeof key>;
      readonly sum: number;
    }
    const undo = registerPrometheusType<Sum>(
      'sum',
      5,
      'counter',
      (x) => x.key,
      (x) => x.sum,
    );
    try {
      const { st, text } = store();
      const flush = (sums: Sum[]): Snapshot => ({ ...snapshot({}), others: new Map([['sum', sums]]) });
      st.apply(flush([{ key: key('bytes'), sum: 10 }]), 1000);
      st.apply(flush([{ key: key('bytes'), sum: 2.5 }]), 2000);
      st.apply(flush([{ key: key('bytes'), sum: -4 }]), 3000);
      expect(text()).toContain('# TYPE bytes counter\n');
      expect(samples(text()).get('bytes')).toBe('12.5');
      expect(st.stats().negativeCounters).toBe(1);
      expect(() =>
        registerPrometheusType<Sum>(
          'sum',
          6,
          'gauge',
          (x) => x.key,
          (x) => x.sum,
        ),
      ).toThrow(/already registered/);
      expect(() =>
        registerPrometheusType<MaxStat>(
          'other',
          2,
          'gauge',
          (x) => x.key,
          (x) => x.max,
        ),
      ).toThrow(/expected 4\.\.127/);
    } finally {
      undo();
    }
  });

  it('unregistered, its stats are not exposed and the core series are as before', () => {
    const d = daemonPath();
    d.send('req.size:9|mx\nhits:2|c\ntemp:3|g');
    const snap = d.flush();
    const withType = store();
    withType.st.apply(snap, 1000);
    unregister();
    try {
      const without = store();
      without.st.apply(snap, 1000);
      expect(samples(without.text()).has('req_size')).toBe(false);
      const core = store();
      core.st.apply({ ...snap, others: undefined }, 1000);
      expect(without.text()).toBe(core.text());
      expect(withType.text()).not.toBe(core.text());
      expect(samples(withType.text()).get('req_size')).toBe('9');
    } finally {
      unregister = registerMaxType();
    }
  });
});
