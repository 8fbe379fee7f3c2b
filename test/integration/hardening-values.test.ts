/**
 * Values stay finite, and keys that sanitise to nothing are refused (issue 9, points 8 and 10),
 * black-box: the built daemon, real UDP, a FakeGraphite and a real /metrics.
 */
import { describe, expect, it } from 'vitest';
import { flushWith, originalStyleConfig, statsMap, sum, useCleanups } from './harness.js';
import { prometheusPort, scrapeUntil } from './prometheus-helpers.js';

const scrape = async (port: number, pred: (s: Map<string, string>) => boolean, what: string): Promise<Map<string, string>> =>
  (await scrapeUntil(port, pred, what)).s;

const { graphiteOn, daemonOn } = useCleanups();
const MAX = Number.MAX_VALUE;

/** Graphite and Prometheus backends, one flush a second. */
async function setup(): Promise<{ g: Awaited<ReturnType<typeof graphiteOn>>; d: Awaited<ReturnType<typeof daemonOn>>; prom: number }> {
  const g = await graphiteOn();
  const d = await daemonOn(
    originalStyleConfig(g.port, `, backends: [ './backends/graphite', 'prometheus' ], prometheus: { port: 0, address: '127.0.0.1' }`),
  );
  return { g, d, prom: await prometheusPort(d) };
}

describe('values stay finite (issue 9, point 8)', () => {
  it('a tiny sample rate is a bad line; overflowing counters, gauges and timers saturate at ±MAX_VALUE in Graphite and Prometheus', async () => {
    const { g, d, prom } = await setup();
    await d.send(
      [
        'fin.rate:1|c|@1e-320', // refused: below the minimum rate
        'fin.rate2:1|c|@0.0000001', // 1e-7: refused too
        'fin.okrate:1|c|@0.001', // kept: 1000
        'fin.big:1e308|c',
        'fin.big:1e308|c',
        'fin.neg:-1e308|c',
        'fin.neg:-1e308|c',
        'fin.gauge:1e308|g',
        'fin.gauge:+1e308|g',
        'fin.timer:1e200|ms', // sum of squares overflows
        'fin.timer:1e200|ms',
        'fin.huge:1e308|ms', // sum and median overflow
        'fin.huge:1.5e308|ms',
        'fin.mark:1|c',
      ].join('\n'),
    );
    const f = await flushWith(g, 'stats_counts.fin.mark');
    // nothing non-finite anywhere in what Graphite received
    const bad = g.raw.filter((l) => !Number.isFinite(Number(l.split(' ')[1])));
    expect(bad).toEqual([]);
    expect(f.has('stats_counts.fin.rate')).toBe(false);
    expect(f.has('stats_counts.fin.rate2')).toBe(false);
    expect(f.get('stats_counts.fin.okrate')).toBe(1000);
    expect(f.get('stats_counts.fin.big')).toBe(MAX);
    expect(f.get('stats_counts.fin.neg')).toBe(-MAX);
    expect(f.get('stats.gauges.fin.gauge')).toBe(MAX);
    expect(f.get('stats.timers.fin.timer.sum')).toBe(2e200);
    expect(f.get('stats.timers.fin.timer.sum_squares')).toBe(MAX);
    expect(f.get('stats.timers.fin.timer.mean')).toBe(1e200);
    expect(f.get('stats.timers.fin.huge.sum')).toBe(MAX);
    expect(f.get('stats.timers.fin.huge.median')).toBe(1.25e308);
    expect(f.get('stats.timers.fin.huge.upper')).toBe(1.5e308);
    expect(Number.isFinite(f.get('stats.timers.fin.huge.std'))).toBe(true);
    expect(f.get('stats_counts.statsd.bad_lines_seen')).toBe(2);

    // a second interval: Prometheus' cumulative counter would reach +Inf; it saturates
    await d.send('fin.big:1e308|c\nfin.huge:1e308|ms\nfin.mark2:1|c');
    await flushWith(g, 'stats_counts.fin.mark2');
    const s = await scrape(prom, (x) => x.get('fin_mark2') === '1', 'fin_mark2 on /metrics');
    // (a summary idle this interval shows NaN quantiles: Prometheus' convention for "no observation")
    const nonFinite = [...s].filter(
      ([k, v]) => k.startsWith('fin_') && !Number.isFinite(Number(v)) && !(v === 'NaN' && k.includes('quantile')),
    );
    expect(nonFinite).toEqual([]);
    expect(Number(s.get('fin_big'))).toBe(MAX);
    // (timers reach Prometheus in seconds: × 0.001)
    expect(Number(s.get('fin_huge_sum'))).toBe(MAX * 0.001 + 1e308 * 0.001);
    expect(Number(s.get('fin_gauge'))).toBe(MAX);
    expect(Number(s.get('fin_huge{quantile="0.5"}'))).toBe(1e305);
    expect(s.get('tallyd_bad_lines_total{reason="sample_rate_too_low"}')).toBe('2');
    expect(g.raw.filter((l) => !Number.isFinite(Number(l.split(' ')[1])))).toEqual([]);
    expect(d.proc.exitCode).toBeNull();
  });
});

describe('keys that sanitise to nothing (issue 9, point 10)', () => {
  it('are bad lines (empty_key), never a nameless series', async () => {
    const { g, d, prom } = await setup();
    await d.send(['!!!:1|c', '日本:2|c', '...:3|c', '#k=v:5|c', '!!!:1|c', '%%:1|g', 'keep.e:1|c'].join('\n'));
    const f = await flushWith(g, 'stats_counts.keep.e');
    const nameless = g.lines.filter((l) => /^(stats_counts|stats|stats\.gauges)\.*(;|$)/.test(l.path));
    expect(nameless).toEqual([]);
    expect(g.lines.filter((l) => l.path.includes('k=v'))).toEqual([]);
    expect(f.get('stats_counts.keep.e')).toBe(1);
    expect(f.get('stats_counts.statsd.bad_lines_seen')).toBe(6);
    expect(statsMap(await d.admin('stats')).get('messages.bad_lines_seen')).toBe('6');
    const s = await scrape(prom, (x) => x.get('tallyd_bad_lines_total{reason="empty_key"}') === '6', 'empty_key 6');
    expect(sum([...s].filter(([k]) => k.startsWith('tallyd_bad_lines_total')).map(([, v]) => Number(v)))).toBe(6);
  });
});
