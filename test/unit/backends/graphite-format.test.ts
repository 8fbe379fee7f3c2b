import { describe, expect, it } from 'vitest';
import { formatGraphite, type GraphiteExtra, graphiteFormatOptions, namespaceConfigFrom } from '../../../src/backends/graphite/format.js';
import { timerMetricFilterName } from '../../../src/backends/timer-fields.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { config, counter, graphiteConfig, key, referenceSnapshot, snapshot, TS, timer } from './fixtures.js';

const EXTRA: GraphiteExtra = { lastException: 0, lastFlush: 1795421994, flushTime: 0, flushLength: 670, now: () => 1000 };

function lines(cfg: TallydConfig, snap = referenceSnapshot(), extra: GraphiteExtra = EXTRA): string[] {
  const out = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfg)), extra);
  const text = out.bytes.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const ls = text.slice(0, -1).split('\n');
  expect(out.lines).toBe(ls.length);
  return ls.map((l) => l.replace(` ${snap.timestamp}`, ' TS'));
}

describe('formatGraphite: legacy namespace (the default)', () => {
  it('reproduces the reference flush of the original line for line', () => {
    expect(lines(config())).toEqual([
      'stats.statsd.bad_lines_seen 0 TS',
      'stats_counts.statsd.bad_lines_seen 0 TS',
      'stats.statsd.packets_received 4 TS',
      'stats_counts.statsd.packets_received 4 TS',
      'stats.statsd.metrics_received 4 TS',
      'stats_counts.statsd.metrics_received 4 TS',
      'stats.foo 1 TS',
      'stats_counts.foo 1 TS',
      'stats.timers.t.count_90 1 TS',
      'stats.timers.t.mean_90 320 TS',
      'stats.timers.t.upper_90 320 TS',
      'stats.timers.t.sum_90 320 TS',
      'stats.timers.t.sum_squares_90 102400 TS',
      'stats.timers.t.std 0 TS',
      'stats.timers.t.upper 320 TS',
      'stats.timers.t.lower 320 TS',
      'stats.timers.t.count 1 TS',
      'stats.timers.t.count_ps 1 TS',
      'stats.timers.t.sum 320 TS',
      'stats.timers.t.sum_squares 102400 TS',
      'stats.timers.t.mean 320 TS',
      'stats.timers.t.median 320 TS',
      'stats.gauges.statsd.timestamp_lag 0 TS',
      'stats.gauges.g 5 TS',
      'stats.sets.s.count 1 TS',
      'statsd.numStats 8 TS',
      'stats.statsd.graphiteStats.calculationtime 0 TS',
      'stats.statsd.processing_time 0 TS',
      'stats.statsd.graphiteStats.last_exception 0 TS',
      'stats.statsd.graphiteStats.last_flush 1795421994 TS',
      'stats.statsd.graphiteStats.flush_time 0 TS',
      'stats.statsd.graphiteStats.flush_length 670 TS',
    ]);
  });

  it('carries the snapshot timestamp on every line and reports numStats', () => {
    const out = formatGraphite(referenceSnapshot(), graphiteFormatOptions(namespaceConfigFrom(config())), EXTRA);
    const ls = out.bytes.toString().trimEnd().split('\n');
    for (const l of ls) expect(l.endsWith(` ${TS}`)).toBe(true);
    expect(out.numStats).toBe(8);
    expect(out.timestamp).toBe(TS);
  });

  it('ignores globalPrefix and type prefixes, as the original legacy namespace does', () => {
    const cfg = config({ graphite: graphiteConfig({ globalPrefix: 'custom', prefixCounter: 'cc', prefixTimer: 'tt' }) });
    const ls = lines(cfg);
    expect(ls).toContain('stats.foo 1 TS');
    expect(ls).toContain('stats.timers.t.mean 320 TS');
    expect(ls.some((l) => l.includes('custom') || l.includes('cc.') || l.includes('tt.'))).toBe(false);
  });

  it('uses prefixStats for its own metrics', () => {
    const ls = lines(config({ prefixStats: 'tally' }));
    expect(ls).toContain('tally.numStats 8 TS');
    expect(ls).toContain('stats.tally.graphiteStats.calculationtime 0 TS');
    expect(ls).toContain('stats.tally.processing_time 0 TS');
    expect(ls).toContain('stats.tally.graphiteStats.flush_length 670 TS');
  });

  it('appends globalSuffix to every path, then the tags', () => {
    const snap = snapshot({
      timestamp: TS,
      counters: [
        counter('req', 2, 1000, [
          ['host', 'a'],
          ['env', 'p'],
        ]),
      ],
      timers: [timer('lat', [5], { tags: [['env', 'p']] })],
      gauges: [{ key: key('mem', [['host', 'a']]), value: 7, updated: true }],
      sets: [{ key: key('users', [['env', 'p']]), count: 3 }],
    });
    const ls = lines(config({ graphite: graphiteConfig({ globalSuffix: 'host1' }) }), snap);
    expect(ls).toContain('stats.req.host1;env=p;host=a 2 TS');
    expect(ls).toContain('stats_counts.req.host1;env=p;host=a 2 TS');
    expect(ls).toContain('stats.timers.lat.count_90.host1;env=p 1 TS');
    expect(ls).toContain('stats.timers.lat.median.host1;env=p 5 TS');
    expect(ls).toContain('stats.gauges.mem.host1;host=a 7 TS');
    expect(ls).toContain('stats.sets.users.count.host1;env=p 3 TS');
    expect(ls).toContain('statsd.numStats.host1 4 TS');
    expect(ls).toContain('stats.statsd.graphiteStats.last_flush.host1 1795421994 TS');
  });

  it('leaves out the counts when flush_counts is false', () => {
    const ls = lines(config({ flushCounts: false }));
    expect(ls.filter((l) => l.startsWith('stats_counts.'))).toEqual([]);
    expect(ls).toContain('stats.foo 1 TS');
  });

  it('formats values as JavaScript String(number)', () => {
    const snap = snapshot({
      timestamp: TS,
      intervalMs: 10000,
      counters: [counter('a', 1, 10000), counter('b', 1e22, 10000), counter('c', -0.5, 10000)],
      gauges: [
        { key: key('third'), value: 1 / 3, updated: true },
        { key: key('tiny'), value: 1e-7, updated: true },
      ],
    });
    const ls = lines(config(), snap);
    expect(ls).toContain('stats.a 0.1 TS');
    expect(ls).toContain('stats.b 1e+21 TS');
    expect(ls).toContain('stats_counts.c -0.5 TS');
    expect(ls).toContain('stats.gauges.third 0.3333333333333333 TS');
    expect(ls).toContain('stats.gauges.tiny 1e-7 TS');
  });
});

describe('formatGraphite: new namespace', () => {
  it('uses the default prefixes', () => {
    const ls = lines(config({ graphite: graphiteConfig({ legacyNamespace: false }) }));
    expect(ls.slice(0, 2)).toEqual(['stats.counters.statsd.bad_lines_seen.rate 0 TS', 'stats.counters.statsd.bad_lines_seen.count 0 TS']);
    expect(ls).toContain('stats.counters.foo.rate 1 TS');
    expect(ls).toContain('stats.counters.foo.count 1 TS');
    expect(ls).toContain('stats.timers.t.count_90 1 TS');
    expect(ls).toContain('stats.gauges.g 5 TS');
    expect(ls).toContain('stats.sets.s.count 1 TS');
    expect(ls.slice(-7)).toEqual([
      'stats.statsd.numStats 8 TS',
      'stats.statsd.graphiteStats.calculationtime 0 TS',
      'stats.statsd.processing_time 0 TS',
      'stats.statsd.graphiteStats.last_exception 0 TS',
      'stats.statsd.graphiteStats.last_flush 1795421994 TS',
      'stats.statsd.graphiteStats.flush_time 0 TS',
      'stats.statsd.graphiteStats.flush_length 670 TS',
    ]);
  });

  it('applies every prefix and the suffix', () => {
    const cfg = config({
      prefixStats: 'me',
      graphite: graphiteConfig({
        legacyNamespace: false,
        globalPrefix: 'pfx',
        prefixCounter: 'c',
        prefixTimer: 'tm',
        prefixGauge: 'g',
        prefixSet: 'st',
        globalSuffix: 'sfx',
      }),
    });
    const ls = lines(cfg);
    expect(ls).toContain('pfx.c.foo.rate.sfx 1 TS');
    expect(ls).toContain('pfx.c.foo.count.sfx 1 TS');
    expect(ls).toContain('pfx.tm.t.sum_squares_90.sfx 102400 TS');
    expect(ls).toContain('pfx.g.g.sfx 5 TS');
    expect(ls).toContain('pfx.st.s.count.sfx 1 TS');
    expect(ls).toContain('pfx.me.numStats.sfx 8 TS');
    expect(ls).toContain('pfx.me.graphiteStats.calculationtime.sfx 0 TS');
    expect(ls).toContain('pfx.me.processing_time.sfx 0 TS');
    expect(ls).toContain('pfx.me.graphiteStats.last_exception.sfx 0 TS');
  });

  it('leaves empty prefixes out', () => {
    const cfg = config({
      graphite: graphiteConfig({
        legacyNamespace: false,
        globalPrefix: '',
        prefixCounter: '',
        prefixTimer: '',
        prefixGauge: 'gg',
        prefixSet: '',
      }),
    });
    const ls = lines(cfg);
    expect(ls).toContain('foo.rate 1 TS');
    expect(ls).toContain('foo.count 1 TS');
    expect(ls).toContain('t.mean 320 TS');
    expect(ls).toContain('gg.g 5 TS');
    expect(ls).toContain('s.count 1 TS');
    expect(ls).toContain('statsd.numStats 8 TS');
    expect(ls).toContain('statsd.graphiteStats.flush_time 0 TS');
    expect(ls.some((l) => l.startsWith('.') || l.includes('..'))).toBe(false);
  });

  it('puts tags after the field and the suffix', () => {
    const snap = snapshot({ timestamp: TS, counters: [counter('KEY', 3, 1000, [['k', 'v']])] });
    const cfg = config({ graphite: graphiteConfig({ legacyNamespace: false, globalSuffix: 'SUFFIX' }) });
    expect(lines(cfg, snap).slice(0, 2)).toEqual(['stats.counters.KEY.rate.SUFFIX;k=v 3 TS', 'stats.counters.KEY.count.SUFFIX;k=v 3 TS']);
  });
});

describe('formatGraphite: timers', () => {
  it('orders every threshold block, then the totals, then the histogram', () => {
    const histogram = { names: ['bin_1', 'bin_10_5', 'bin_inf'], bounds: [1, 10.5, Infinity], counts: [0, 3, 1] };
    const snap = snapshot({ timestamp: TS, timers: [timer('rt', [2, 4, 6, 20], { thresholds: [50, -25, 99.9], histogram })] });
    expect(lines(config(), snap).slice(0, -7)).toEqual([
      'stats.timers.rt.count_50 2 TS',
      'stats.timers.rt.mean_50 3 TS',
      'stats.timers.rt.upper_50 4 TS',
      'stats.timers.rt.sum_50 6 TS',
      'stats.timers.rt.sum_squares_50 20 TS',
      'stats.timers.rt.count_top25 1 TS',
      'stats.timers.rt.mean_top25 20 TS',
      'stats.timers.rt.lower_top25 20 TS',
      'stats.timers.rt.sum_top25 20 TS',
      'stats.timers.rt.sum_squares_top25 400 TS',
      'stats.timers.rt.count_99_9 4 TS',
      'stats.timers.rt.mean_99_9 8 TS',
      'stats.timers.rt.upper_99_9 20 TS',
      'stats.timers.rt.sum_99_9 32 TS',
      'stats.timers.rt.sum_squares_99_9 456 TS',
      'stats.timers.rt.std 7.0710678118654755 TS',
      'stats.timers.rt.upper 20 TS',
      'stats.timers.rt.lower 2 TS',
      'stats.timers.rt.count 4 TS',
      'stats.timers.rt.count_ps 4 TS',
      'stats.timers.rt.sum 32 TS',
      'stats.timers.rt.sum_squares 456 TS',
      'stats.timers.rt.mean 8 TS',
      'stats.timers.rt.median 5 TS',
      'stats.timers.rt.histogram.bin_1 0 TS',
      'stats.timers.rt.histogram.bin_10_5 3 TS',
      'stats.timers.rt.histogram.bin_inf 1 TS',
    ]);
  });

  it('sends only count 0 and count_ps 0 for an idle timer', () => {
    const snap = snapshot({ timestamp: TS, timers: [timer('idle', [])] });
    const ls = lines(config(), snap);
    expect(ls.slice(0, -7)).toEqual(['stats.timers.idle.count 0 TS', 'stats.timers.idle.count_ps 0 TS']);
    expect(ls).toContain('statsd.numStats 1 TS');
  });

  it('keeps only the calculatedTimerMetrics fields (percent fields by their _percent name)', () => {
    const histogram = { names: ['bin_10', 'bin_inf'], bounds: [10, Infinity], counts: [3, 1] };
    const snap = snapshot({
      timestamp: TS,
      timers: [timer('rt', [2, 4, 6, 20], { thresholds: [50, -25, 99.9], histogram }), timer('idle', [])],
    });
    const cfg = config({ calculatedTimerMetrics: ['count', 'mean_percent', 'lower_percent', 'histogram'] });
    expect(lines(cfg, snap).slice(0, -7)).toEqual([
      'stats.timers.rt.mean_50 3 TS',
      'stats.timers.rt.mean_top25 20 TS',
      'stats.timers.rt.lower_top25 20 TS',
      'stats.timers.rt.mean_99_9 8 TS',
      'stats.timers.rt.count 4 TS',
      'stats.timers.rt.histogram.bin_10 3 TS',
      'stats.timers.rt.histogram.bin_inf 1 TS',
      'stats.timers.idle.count 0 TS',
    ]);
  });

  it('an empty calculatedTimerMetrics list keeps no timer field but still counts the timer', () => {
    const snap = snapshot({ timestamp: TS, timers: [timer('rt', [1, 2])] });
    const ls = lines(config({ calculatedTimerMetrics: [] }), snap);
    expect(ls.filter((l) => l.startsWith('stats.timers.'))).toEqual([]);
    expect(ls).toContain('statsd.numStats 1 TS');
  });

  it('maps field names to their filter names as documented', () => {
    expect(timerMetricFilterName('count_90')).toBe('count_percent');
    expect(timerMetricFilterName('lower_top10')).toBe('lower_percent');
    expect(timerMetricFilterName('sum_squares_99_9')).toBe('sum_squares_percent');
    expect(timerMetricFilterName('count_ps')).toBe('count_ps');
    expect(timerMetricFilterName('sum_squares')).toBe('sum_squares');
  });
});

describe('formatGraphite: size', () => {
  it('builds a large flush in chunks without losing or reordering lines', () => {
    const counters = Array.from({ length: 50_000 }, (_, i) => counter(`k.${i}`, i));
    const out = formatGraphite(snapshot({ timestamp: TS, counters }), graphiteFormatOptions(namespaceConfigFrom(config())), EXTRA);
    const ls = out.bytes.toString('utf8').trimEnd().split('\n');
    expect(ls.length).toBe(100_000 + 7);
    expect(out.lines).toBe(ls.length);
    expect(ls[0]).toBe(`stats.k.0 0 ${TS}`);
    expect(ls[2 * 31_337 + 1]).toBe(`stats_counts.k.31337 31337 ${TS}`);
    expect(ls[99_999]).toBe(`stats_counts.k.49999 49999 ${TS}`);
    expect(ls[100_000]).toBe(`statsd.numStats 50000 ${TS}`);
  });
});
