/** The original's metrics object for npm backends: shapes, and building it in slices that yield to ingest. */
import { describe, expect, it } from 'vitest';
import { originalMetrics } from '../../../src/backends/plugin/metrics.js';
import { makeAggregator, send } from '../aggregator/helpers.js';
import { config } from './fixtures.js';

describe('originalMetrics', () => {
  it("has the original's shapes for the reference traffic", async () => {
    const cfg = config({ histogram: [{ metric: 't', bins: [100, Infinity] }] });
    const agg = makeAggregator(cfg);
    send(agg, 'foo:1|c');
    send(agg, 't:320|ms');
    send(agg, 'g:5|g');
    send(agg, 's:a|s\ns:b|s\ns:a|s');
    const m = await originalMetrics(agg.flush(1_700_000_000_000), cfg);
    expect(m.counters).toEqual({ 'statsd.bad_lines_seen': 0, 'statsd.packets_received': 4, 'statsd.metrics_received': 6, foo: 1 });
    expect(m.counter_rates.foo).toBe(1);
    expect(m.gauges).toEqual({ g: 5 });
    expect(m.timers).toEqual({ t: [320] });
    expect(m.timer_counters).toEqual({ t: 1 });
    expect(m.timer_data.t).toEqual({
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
      histogram: { bin_100: 0, bin_inf: 1 },
    });
    expect(m.sets.s!.values().sort()).toEqual(['a', 'b']);
    expect(m.sets.s!.size()).toBe(2);
    expect(m.sets.s!.has('a')).toBe(true);
    expect(m.pctThreshold).toEqual([90]);
    expect(typeof m.statsd_metrics.processing_time).toBe('number');
  });

  it('keeps calculatedTimerMetrics as the original filters timer_data', async () => {
    const cfg = config({ calculatedTimerMetrics: ['count', 'upper_percent'] });
    const agg = makeAggregator(cfg);
    send(agg, 't:1|ms\nt:2|ms');
    const m = await originalMetrics(agg.flush(0), cfg);
    expect(m.timer_data.t).toEqual({ upper_90: 2, count: 2 });
  });

  it('yields to ingest between slices, and gives the same object as one pass', async () => {
    const cfg = config();
    const agg = makeAggregator(cfg);
    for (let i = 0; i < 50; i++) send(agg, Array.from({ length: 100 }, (_, j) => `c${i}_${j}:1|c\nt${i}:${j}|ms`).join('\n'));
    const snap = agg.flush(0);
    let yields = 0;
    const sliced = await originalMetrics(snap, cfg, async () => void yields++, 0);
    const whole = await originalMetrics(snap, cfg, async () => void yields++, Infinity);
    expect(yields).toBeGreaterThan(3);
    expect(Object.keys(sliced.counters).length).toBe(5003);
    expect(sliced).toEqual({ ...whole, statsd_metrics: sliced.statsd_metrics });
  });
});
