/**
 * Resilience, black-box (issue 4, points 1-2): a Graphite outage loses nothing (every missed flush is
 * replayed under its own timestamp), the queue bound is configurable and validated, stops drain for
 * `stopDrainMs`, and a second signal exits at once.
 */
import { describe, expect, it } from 'vitest';
import { originalStyleConfig, pace, startDaemon, stat, sum, useCleanups, waitCounters, waitFor, waitLog, waitStats } from './harness.js';

const { graphiteOn, daemonOn } = useCleanups();

describe('graphite outage', () => {
  it('replays every missed flush under its own timestamp once graphite is back: the sums match', async () => {
    const g1 = await graphiteOn();
    const port = g1.port;
    const daemon = await daemonOn(originalStyleConfig(port, ', graphite: { timeoutMs: 500 }'));
    let sent = 0;
    let sending = true;
    const packet = Array.from({ length: 10 }, () => 'outage.c:1|c').join('\n');
    const sender = (async () => {
      while (sending) {
        await daemon.send(packet);
        sent += 10;
        await pace(100);
      }
    })();

    await waitFor(() => g1.has('stats_counts.outage.c'), 5000, 'a first delivered flush');
    await g1.close();
    const downAt = Date.now();
    const during = await waitStats(daemon, (s) => stat(s, 'graphite.queued_flushes') >= 1, 'a flush queued while graphite is down');
    expect(Number(during.get('graphite.queued_bytes'))).toBeGreaterThan(0);
    expect(Number(during.get('graphite.queued_flushes'))).toBeGreaterThanOrEqual(1);
    expect(during.get('graphite.dropped_flushes')).toBe('0');
    // four flushes missed in all (as ~3.5 s of outage did)
    await waitStats(daemon, (s) => stat(s, 'graphite.queued_flushes') >= 4, 'four flushes queued while graphite is down');
    const g2 = await graphiteOn(port);
    const upAt = Date.now();
    // the sender goes on until the replay has begun
    await waitFor(() => g2.has('stats_counts.outage.c'), 15_000, 'the replay to begin');
    sending = false;
    await sender;

    const all = (): number => sum(g1.values('stats_counts.outage.c')) + sum(g2.values('stats_counts.outage.c'));
    await waitFor(() => all() === sent, 20_000, `sum of stats_counts.outage.c to reach ${sent}`);
    expect(all()).toBe(sent);

    // one point per interval, each under its own timestamp: no two flushes merged, none lost
    const stamps = [...g1.lines, ...g2.lines].filter((l) => l.path === 'stats_counts.outage.c').map((l) => l.ts);
    expect(new Set(stamps).size).toBe(stamps.length);
    const replayed = g2.lines.filter((l) => l.path === 'stats_counts.outage.c' && l.ts * 1000 < upAt - 500 && l.ts * 1000 > downAt);
    expect(replayed.length).toBeGreaterThanOrEqual(3);
    // the replay came in order
    const g2Stamps = g2.lines.filter((l) => l.path === 'stats_counts.outage.c').map((l) => l.ts);
    expect([...g2Stamps].sort((a, b) => a - b)).toEqual(g2Stamps);
    // nothing was dropped: the loss counters (sent from the first drop on) never appeared
    expect(g2.has('stats.statsd.graphiteStats.dropped_flushes')).toBe(false);
    expect(during.get('graphite.dropped_lines')).toBe('0');
  });

  it('graphite.queueBytes bounds the queue: past it the oldest flushes are dropped and counted', async () => {
    const g1 = await graphiteOn();
    const port = g1.port;
    await g1.close();
    const daemon = await daemonOn(originalStyleConfig(port, ', graphite: { timeoutMs: 300, queueBytes: 5000 }'));
    for (let i = 0; i < 20; i++) await daemon.send(`bound.k${i}:1|c`);
    const s = await waitStats(daemon, (x) => stat(x, 'graphite.dropped_flushes') > 0, 'a flush dropped past queueBytes');
    expect(Number(s.get('graphite.dropped_flushes'))).toBeGreaterThan(0);
    expect(Number(s.get('graphite.dropped_lines'))).toBeGreaterThan(0);
    expect(Number(s.get('graphite.queued_bytes'))).toBeLessThanOrEqual(5000 + 4000);
    const g2 = await graphiteOn(port);
    await waitFor(
      () => g2.values('stats.statsd.graphiteStats.dropped_flushes').some((v) => v > 0),
      15_000,
      'dropped_flushes > 0 in graphite',
    );
    // what was kept is delivered: the newest flushes, under distinct timestamps
    const stamps = g2.lines.filter((l) => l.path === 'stats_counts.bound.k0').map((l) => l.ts);
    expect(new Set(stamps).size).toBe(stamps.length);
  });

  it('refuses an invalid graphite.queueBytes, naming the key', async () => {
    const g = await graphiteOn();
    await expect(startDaemon(originalStyleConfig(g.port, ', graphite: { queueBytes: -5 }'))).rejects.toThrow(/graphite\.queueBytes/);
  });
});

describe('stopping', () => {
  it('stopDrainMs bounds the drain when graphite is down; a second signal exits at once, non-zero', async () => {
    const g = await graphiteOn();
    const port = g.port;
    await g.close();
    // 1) the configured drain time is honoured
    const d1 = await daemonOn(originalStyleConfig(port, ', stopDrainMs: 1500, graphite: { timeoutMs: 300 }'));
    await d1.send('drain.c:1|c');
    await waitCounters(d1, "'drain.c': 1");
    let t0 = Date.now();
    d1.proc.kill('SIGTERM');
    const code1 = await d1.exited;
    const took1 = Date.now() - t0;
    expect(code1).toBe(0);
    expect(took1).toBeGreaterThanOrEqual(1200);
    expect(took1).toBeLessThan(5000);
    expect(d1.stderr.some((l) => l.includes('undelivered flushes'))).toBe(true);

    // 2) a long drain is cut short by a second signal
    const d2 = await daemonOn(originalStyleConfig(port, ', stopDrainMs: 30000, graphite: { timeoutMs: 300 }'));
    await d2.send('drain.c:1|c');
    await waitCounters(d2, "'drain.c': 1");
    d2.proc.kill('SIGTERM');
    await waitLog(d2, 'signal received: flushing and stopping');
    await waitLog(d2, 'stopping: final flush');
    expect(d2.proc.exitCode).toBeNull(); // still draining
    t0 = Date.now();
    d2.proc.kill('SIGTERM');
    const code2 = await d2.exited;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(code2).not.toBe(0);
    expect(d2.stderr.some((l) => l.includes('second signal'))).toBe(true);
  });
});
