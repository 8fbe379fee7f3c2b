import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { counter, makeAggregator, send } from './helpers.js';

describe('dump', () => {
  it('counters: own counters first, then keys in first-seen order, as util.inspect shows them', () => {
    const agg = makeAggregator();
    send(agg, 'b.x:2|c\na.y:1|c');
    const d = agg.dump('counters');
    expect(Object.keys(d)).toEqual(['statsd.bad_lines_seen', 'statsd.packets_received', 'statsd.metrics_received', 'b.x', 'a.y']);
    expect(inspect(d)).toBe(
      "{\n  'statsd.bad_lines_seen': 0,\n  'statsd.packets_received': 1,\n  'statsd.metrics_received': 2,\n  'b.x': 2,\n  'a.y': 1\n}",
    );
  });

  it('timers: the values of the interval; gauges: the values (timestamp_lag included after the 2nd flush)', () => {
    const agg = makeAggregator();
    send(agg, 't:3|ms\nt:1|ms\ng:5|g');
    expect(agg.dump('timers')).toEqual({ t: [3, 1] });
    expect(agg.dump('gauges')).toEqual({ g: 5 });
    agg.flush(0);
    expect(agg.dump('timers')).toEqual({ t: [] });
    agg.flush(1000);
    expect(agg.dump('gauges')).toEqual({ g: 5, 'statsd.timestamp_lag': 0 });
  });
});

describe('deleteKeys (the original delete_stats)', () => {
  it('exact keys, folders, misses', () => {
    const agg = makeAggregator();
    send(agg, 'a.b.c:1|c\na.b.d.e:1|c\na.bc:1|c\nz:1|c');
    expect(agg.deleteKeys('counters', ['a.b.*', 'z', 'nope', 'a.x.*'])).toEqual([
      'deleted: a.b.c',
      'deleted: a.b.d.e',
      'deleted: z',
      'metric nope not found',
      'metric a.x.* not found',
    ]);
    expect(Object.keys(agg.dump('counters')).slice(3)).toEqual(['a.bc']);
    // deleted keys are not emitted until seen again
    const s = agg.flush(0);
    expect(counter(s, 'a.b.c')).toBeUndefined();
    send(agg, 'a.b.c:7|c');
    expect(counter(agg.flush(1000), 'a.b.c')).toBe(7);
  });

  it('gauges and timers', () => {
    const agg = makeAggregator();
    send(agg, 'g1:1|g\ng2:2|g\nt:1|ms');
    expect(agg.deleteKeys('gauges', ['g1'])).toEqual(['deleted: g1']);
    expect(agg.deleteKeys('timers', ['t', 'g2'])).toEqual(['deleted: t', 'metric g2 not found']);
    expect(agg.dump('gauges')).toEqual({ g2: 2 });
    expect(agg.liveKeys()).toMatchObject({ gauges: 1, timers: 0 });
  });

  it('own counters can be deleted: re-created at once at 0, still counting', () => {
    const agg = makeAggregator();
    send(agg, 'x:1|c');
    expect(agg.deleteKeys('counters', ['statsd.*'])).toEqual([
      'deleted: statsd.bad_lines_seen',
      'deleted: statsd.packets_received',
      'deleted: statsd.metrics_received',
    ]);
    expect(agg.dump('counters')).toEqual({
      x: 1,
      'statsd.bad_lines_seen': 0,
      'statsd.packets_received': 0,
      'statsd.metrics_received': 0,
    });
    send(agg, 'x:1|c\nbad');
    const s = agg.flush(0);
    expect(counter(s, 'statsd.packets_received')).toBe(1);
    expect(counter(s, 'statsd.bad_lines_seen')).toBe(1);
  });
});
