/**
 * Black-box: spawn the built daemon on an original-style config file, send real UDP packets, read a
 * real TCP Graphite listener. Values are those the original statsd produces for the same input
 * (see ../shared/reference/original-statsd.md).
 */
import { describe, expect, it } from 'vitest';
import { flushWith, originalStyleConfig, type RunningDaemon, startDaemon, useGraphiteAndDaemon, waitForAsync } from './harness.js';

const env = useGraphiteAndDaemon();

/**
 * The conformance cases, run on one process and on a cluster primary merging two ingest workers'
 * partials (`workers: 2`): the values must be identical.
 */
for (const workers of [1, 2]) {
  const cfg = (graphitePort: number, extra = ''): string =>
    originalStyleConfig(graphitePort, (workers > 1 ? `, workers: ${workers}\n` : '') + extra);

  describe(`workers: ${workers}`, () => {
    describe('legacy namespace (the default)', () => {
      it('flushes every metric type with the original names and values, then the idle values', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port));
        await env.daemon.send('foo:1|c');
        await env.daemon.send('t:320|ms');
        await env.daemon.send('g:5|g');
        await env.daemon.send('s:a|s');
        const f = await flushWith(env.graphite, 'stats.foo');
        expect(f.get('stats.foo')).toBe(1);
        expect(f.get('stats_counts.foo')).toBe(1);
        expect(f.get('stats.statsd.packets_received')).toBe(4);
        expect(f.get('stats_counts.statsd.packets_received')).toBe(4);
        expect(f.get('stats_counts.statsd.metrics_received')).toBe(4);
        expect(f.get('stats_counts.statsd.bad_lines_seen')).toBe(0);
        const timer: Record<string, number> = {
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
        };
        for (const [field, v] of Object.entries(timer)) expect(f.get(`stats.timers.t.${field}`), field).toBe(v);
        expect(f.get('stats.gauges.g')).toBe(5);
        expect(f.get('stats.sets.s.count')).toBe(1);
        expect(f.get('statsd.numStats')).toBeGreaterThanOrEqual(4);
        expect(f.has('stats.statsd.graphiteStats.calculationtime')).toBe(true);
        expect(f.has('stats.statsd.processing_time')).toBe(true);
        expect(f.has('stats.statsd.graphiteStats.last_flush')).toBe(true);
        expect(f.has('stats.statsd.graphiteStats.last_exception')).toBe(true);
        expect(f.has('stats.statsd.graphiteStats.flush_time')).toBe(true);
        expect(f.has('stats.statsd.graphiteStats.flush_length')).toBe(true);
        // every line: "<path> <value> <unix seconds>"
        for (const raw of env.graphite.raw) expect(raw).toMatch(/^\S+ -?[\d.e+-]+ \d{10}$/);

        const firstTs = env.graphite.lines.find((l) => l.path === 'stats.foo')!.ts;
        const idle = await flushWith(env.graphite, 'stats.foo', firstTs);
        expect(idle.get('stats.foo')).toBe(0);
        expect(idle.get('stats_counts.foo')).toBe(0);
        expect(idle.get('stats.timers.t.count')).toBe(0);
        expect(idle.get('stats.timers.t.count_ps')).toBe(0);
        expect(idle.has('stats.timers.t.mean')).toBe(false);
        expect(idle.get('stats.gauges.g')).toBe(5);
        expect(idle.get('stats.sets.s.count')).toBe(0);
        expect(idle.has('stats.gauges.statsd.timestamp_lag')).toBe(true);
      });

      it('aggregates many lines per packet, multi-value lines, sample rates, gauge deltas and set members', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port, ', percentThreshold: [90, -10, 99.9]'));
        const timerLines = Array.from({ length: 100 }, (_, i) => `lat:${((i * 37) % 100) + 1}|ms`).join('\n');
        await env.daemon.send(timerLines);
        await env.daemon.send(
          'hits:1|c\nhits:2|c:3|c\r\nhits:1|c|@0.1\n\ngau:10|g\ngau:+5|g\ngau:-3|g\nusers:alice|s\nusers:bob|s\nusers:alice|s',
        );
        const f = await flushWith(env.graphite, 'stats.hits');
        expect(f.get('stats_counts.hits')).toBe(16); // 1 + 2 + 3 + 1/0.1
        expect(f.get('stats.hits')).toBe(16);
        expect(f.get('stats.gauges.gau')).toBe(12);
        expect(f.get('stats.sets.users.count')).toBe(2);
        const expected: Record<string, number> = {
          count: 100,
          lower: 1,
          upper: 100,
          sum: 5050,
          sum_squares: 338350,
          mean: 50.5,
          median: 50.5,
          std: 28.86607004772212,
          count_90: 90,
          mean_90: 45.5,
          upper_90: 90,
          sum_90: 4095,
          sum_squares_90: 247065,
          count_top10: 10,
          mean_top10: 95.5,
          lower_top10: 91,
          sum_top10: 955,
          sum_squares_top10: 91285,
          count_99_9: 100,
          mean_99_9: 50.5,
          upper_99_9: 100,
          sum_99_9: 5050,
        };
        for (const [field, v] of Object.entries(expected)) expect(f.get(`stats.timers.lat.${field}`), field).toBeCloseTo(v, 9);
        expect(f.get('stats_counts.statsd.metrics_received')).toBe(100 + 9);
        expect(f.get('stats_counts.statsd.packets_received')).toBe(2);
      });

      it('counts bad lines without losing the good lines around them', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port));
        await env.daemon.send(
          ['ok1:1|c', 'nocolon', 'bad:abc|c', 'neg:-5|ms', 'rate:1|c|@0', 'rate2:1|c|@x', 'ok2:2|c', ':1|c', 'inf:1e400|c', 'ok3:3|c'].join(
            '\n',
          ),
        );
        await env.daemon.send(Buffer.from([0xff, 0xfe, 0x00, 0x3a, 0x7c, 0x0a, 0x6f, 0x6b, 0x34, 0x3a, 0x34, 0x7c, 0x63])); // garbage\nok4:4|c
        const f = await flushWith(env.graphite, 'stats_counts.ok3');
        expect(f.get('stats_counts.ok1')).toBe(1);
        expect(f.get('stats_counts.ok2')).toBe(2);
        expect(f.get('stats_counts.ok3')).toBe(3);
        expect(f.get('stats_counts.ok4')).toBe(4);
        expect(f.get('stats_counts.statsd.bad_lines_seen')).toBe(8);
        expect(f.has('stats_counts.bad')).toBe(false);
        expect(f.has('stats.timers.neg.count')).toBe(false);
        const stats = await env.daemon.admin('stats');
        expect(stats).toMatch(/messages\.bad_lines_seen: 8\n/);
        // still alive and counting
        await env.daemon.send('after:1|c');
        await flushWith(env.graphite, 'stats_counts.after');
        // bad lines are logged, but not one log line per bad line
        const badLogs = env.daemon.stderr.filter((l) => l.includes('"bad line"'));
        expect(badLogs.length).toBeGreaterThanOrEqual(1);
        expect(badLogs.length).toBeLessThan(8);
      });

      it('appends DogStatsD tags as sorted Graphite tags, one series whatever the client order', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port));
        await env.daemon.send('req:1|c|#route:/a,method:get\nreq:2|c|#method:get,route:/a\nreq:5|c');
        const f = await flushWith(env.graphite, 'stats_counts.req');
        expect(f.get('stats_counts.req;method=get;route=-a')).toBe(3);
        expect(f.get('stats_counts.req')).toBe(5);
      });

      it('sanitizes keys like the original', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port));
        await env.daemon.send('my key/with  spaces$%:1|c');
        const f = await flushWith(env.graphite, 'stats_counts.my_key-with_spaces');
        expect(f.get('stats_counts.my_key-with_spaces')).toBe(1);
      });
    });

    describe('new namespace with every prefix and the suffix', () => {
      it('names counters, timers, gauges, sets and own metrics as the original', async () => {
        env.daemon = await startDaemon(
          cfg(
            env.graphite.port,
            `, graphite: { legacyNamespace: false, globalPrefix: 'pre', prefixCounter: 'cnt', prefixTimer: 'tim',
                           prefixGauge: 'gau', prefixSet: 'st', globalSuffix: 'host1' }
             , prefixStats: 'tallytest'`,
          ),
        );
        await env.daemon.send('foo:3|c\nt:10|ms\ng:7|g\ns:x|s\ntagged:1|c|#b:2,a:1');
        const f = await flushWith(env.graphite, 'pre.cnt.foo.count.host1');
        expect(f.get('pre.cnt.foo.count.host1')).toBe(3);
        expect(f.get('pre.cnt.foo.rate.host1')).toBe(3);
        expect(f.get('pre.tim.t.mean.host1')).toBe(10);
        expect(f.get('pre.tim.t.count_90.host1')).toBe(1);
        expect(f.get('pre.gau.g.host1')).toBe(7);
        expect(f.get('pre.st.s.count.host1')).toBe(1);
        expect(f.get('pre.cnt.tagged.count.host1;a=1;b=2')).toBe(1);
        expect(f.get('pre.cnt.tallytest.packets_received.count.host1')).toBe(1);
        expect(f.has('pre.tallytest.numStats.host1')).toBe(true);
        expect(f.has('pre.tallytest.graphiteStats.calculationtime.host1')).toBe(true);
      });

      it('leaves empty prefixes out', async () => {
        env.daemon = await startDaemon(
          cfg(env.graphite.port, `, graphite: { legacyNamespace: false, globalPrefix: '', prefixCounter: '' }`),
        );
        await env.daemon.send('foo:3|c');
        const f = await flushWith(env.graphite, 'foo.count');
        expect(f.get('foo.count')).toBe(3);
        expect(f.get('foo.rate')).toBe(3);
      });
    });

    describe('delete options', () => {
      it('deleteIdleStats drops idle series from the next flush, but keeps own counters', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port, ', deleteIdleStats: true'));
        await env.daemon.send('foo:1|c\nt:5|ms\ng:1|g\ns:a|s');
        const f = await flushWith(env.graphite, 'stats.foo');
        expect(f.get('stats.gauges.g')).toBe(1);
        const ts = env.graphite.lines.find((l) => l.path === 'stats.foo')!.ts;
        const next = await flushWith(env.graphite, 'stats_counts.statsd.packets_received', ts);
        expect(next.has('stats.foo')).toBe(false);
        expect(next.has('stats.timers.t.count')).toBe(false);
        expect(next.has('stats.gauges.g')).toBe(false);
        expect(next.has('stats.sets.s.count')).toBe(false);
        expect(next.get('stats_counts.statsd.packets_received')).toBe(0);
      });

      it('deleteCounters alone keeps gauges and timers', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port, ', deleteCounters: true'));
        await env.daemon.send('foo:1|c\nt:5|ms\ng:1|g');
        await flushWith(env.graphite, 'stats.foo');
        const ts = env.graphite.lines.find((l) => l.path === 'stats.foo')!.ts;
        const next = await flushWith(env.graphite, 'stats.gauges.g', ts);
        expect(next.has('stats.foo')).toBe(false);
        expect(next.get('stats.timers.t.count')).toBe(0);
      });

      it('flush_counts false sends rates only', async () => {
        env.daemon = await startDaemon(cfg(env.graphite.port, ', flush_counts: false'));
        await env.daemon.send('foo:4|c');
        const f = await flushWith(env.graphite, 'stats.foo');
        expect(f.get('stats.foo')).toBe(4);
        expect(f.has('stats_counts.foo')).toBe(false);
      });
    });
  });
}

/** The admin answer to `cmd` once `ok` holds for it (or the last one after 5 s: the caller's assertions say why). */
async function pollAdmin(d: RunningDaemon, cmd: string, ok: (answer: string) => boolean): Promise<string> {
  let answer = '';
  await waitForAsync(async () => ok((answer = await d.admin(cmd))), 5000, `admin ${cmd}`, 50).catch(() => undefined);
  return answer;
}

describe('admin interface', () => {
  it('answers the original commands', async () => {
    env.daemon = await startDaemon(originalStyleConfig(env.graphite.port));
    expect(await env.daemon.admin('help')).toBe(
      'Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n',
    );
    const counters = await env.daemon.admin('counters');
    expect(counters).toContain("'statsd.packets_received': 0");
    expect(counters.endsWith('END\n\n')).toBe(true);
    expect(await env.daemon.admin('health')).toBe('health: up\n');
    expect(await env.daemon.admin('health down')).toBe('health: down\n');
    expect(await env.daemon.admin('health')).toBe('health: down\n');
    expect(await env.daemon.admin('bogus')).toBe('ERROR\n');
    const stats = await env.daemon.admin('stats');
    expect(stats).toMatch(/^uptime: \d+\nmessages\.last_msg_seen: \d+\nmessages\.bad_lines_seen: 0\n/);
    expect(stats).toMatch(/graphite\.last_flush: \d+\n/);
    expect(stats.endsWith('END\n\n')).toBe(true);
  });

  it('prints and deletes keys', async () => {
    env.daemon = await startDaemon(originalStyleConfig(env.graphite.port, ', flushInterval: 60000'));
    await env.daemon.send('a.b:5|c\na.c:1|c\nz:2|c\ng1:3|g\ntm:7|ms');
    const counters = await pollAdmin(env.daemon, 'counters', (c) => c.includes("'a.b': 5"));
    expect(counters).toContain('z: 2');
    expect(await env.daemon.admin('gauges')).toContain('g1: 3');
    expect(await env.daemon.admin('timers')).toContain('tm: [ 7 ]');
    const del = await env.daemon.admin('delcounters a.* nothere');
    expect(del).toContain('deleted: a.b\n');
    expect(del).toContain('deleted: a.c\n');
    expect(del).toContain('metric nothere not found\n');
    const after = await env.daemon.admin('counters');
    expect(after).not.toContain('a.b');
    expect(after).toContain('z: 2');
  });
});
