import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { consoleObject, createConsoleBackend, formatConsole } from '../../../src/backends/console/index.js';
import { timerFieldFilter } from '../../../src/backends/timer-fields.js';
import { config, context, counter, key, referenceSnapshot, snapshot, TS, timer } from './fixtures.js';

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (b: Buffer) => parts.push(b));
  return { out, text: () => Buffer.concat(parts).toString() };
}

describe('console backend', () => {
  it('prints the date line, then the original object shape on one line', async () => {
    const { out, text } = capture();
    const b = createConsoleBackend(context(config({ percentThreshold: [90, -10] })), out);
    await b.flush(referenceSnapshot());
    const [first, json, rest] = text().split('\n');
    expect(first).toBe(`Flushing stats at ${new Date(TS * 1000).toString()}`);
    expect(rest).toBe('');
    const obj = JSON.parse(json!);
    expect(Object.keys(obj)).toEqual(['counters', 'timers', 'gauges', 'timer_data', 'counter_rates', 'sets', 'pctThreshold']);
    expect(obj.counters).toEqual({ 'statsd.bad_lines_seen': 0, 'statsd.packets_received': 4, 'statsd.metrics_received': 4, foo: 1 });
    expect(obj.counter_rates.foo).toBe(1);
    expect(obj.timers).toEqual({ t: [320] });
    expect(obj.timer_data.t).toEqual({
      count_90: 1,
      mean_90: 320,
      upper_90: 320,
      sum_90: 320,
      sum_squares_90: 102400,
      std: 0,
      upper: 320,
      lower: 320,
      count: 1,
      count_ps: 1,
      sum: 320,
      sum_squares: 102400,
      mean: 320,
      median: 320,
    });
    expect(obj.gauges).toEqual({ 'statsd.timestamp_lag': 0, g: 5 });
    expect(obj.sets).toEqual({ s: 1 });
    expect(obj.pctThreshold).toEqual([90, -10]);
    const st = Object.fromEntries(b.status());
    expect(st['last_flush']).toBeGreaterThan(1795421994 - 10 ** 9);
    expect(Object.keys(st)).toEqual(['last_flush', 'last_exception']);
  });

  it('indents the object with prettyprint', () => {
    const text = formatConsole(referenceSnapshot(), [90], timerFieldFilter(null), true);
    const json = text.slice(text.indexOf('\n') + 1);
    expect(json.startsWith('{\n  "counters": {\n    "statsd.bad_lines_seen": 0,')).toBe(true);
    expect(JSON.parse(json).gauges.g).toBe(5);
  });

  it('keys series by MetricKey.id (tags included), keeps histograms and idle timers', () => {
    const histogram = { names: ['bin_10', 'bin_inf'], bounds: [10, Infinity], counts: [1, 1] };
    const snap = snapshot({
      timestamp: TS,
      counters: [counter('req', 2, 1000, [['env', 'p']])],
      timers: [timer('rt', [5, 50], { histogram }), timer('idle', [])],
      gauges: [{ key: key('mem', [['host', 'a']]), value: 1.5, updated: true }],
    });
    const obj = consoleObject(snap, [90], timerFieldFilter(null));
    expect(obj.counters).toEqual({ 'req;env=p': 2 });
    expect(obj.gauges).toEqual({ 'mem;host=a': 1.5 });
    expect(obj.timer_data['rt']!['histogram']).toEqual({ bin_10: 1, bin_inf: 1 });
    expect(obj.timer_data['idle']).toEqual({ count: 0, count_ps: 0 });
    // the fast serializer gives the same JSON as JSON.stringify
    const flat = formatConsole(snap, [90], timerFieldFilter(null), false).split('\n')[1]!;
    expect(JSON.parse(flat)).toEqual(JSON.parse(JSON.stringify(obj)));
  });
});
