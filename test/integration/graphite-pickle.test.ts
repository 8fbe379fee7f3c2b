/**
 * graphiteProtocol 'pickle' into a real carbon-cache's pickle receiver (Debian's graphite-carbon), the
 * values read back from whisper; the same delivery queue as plaintext: flushes made while carbon is down
 * are replayed once it is up, and what cannot be resent is counted. Needs carbon-cache and whisper-fetch:
 * fails when CI is set and they are missing, skips elsewhere.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Carbon, freePort, haveCarbon } from './carbon.js';
import { originalStyleConfig, pace, stat, statsMap, useCleanups, waitFor, waitStats } from './harness.js';

const available = haveCarbon();
if (!available && process.env.CI)
  throw new Error('carbon-cache/whisper-fetch missing: .ci/run must install graphite-carbon and python3-whisper');

const { cleanups, daemonOn } = useCleanups();

/** graphitePort points at a closed port: only the pickle port can receive anything. */
async function pickleConfig(picklePort: number, extra = ''): Promise<string> {
  const closed = await freePort();
  return originalStyleConfig(closed, `, graphiteProtocol: 'pickle', graphitePicklePort: ${picklePort}, percentThreshold: [90]${extra}`);
}

describe.skipIf(!available)('Graphite pickle into a real carbon-cache', () => {
  it('stores counters, timers, gauges and sets sent over pickle, with the values sent', async () => {
    const carbon = new Carbon();
    cleanups.push(() => carbon.stop());
    await carbon.start();
    const d = await daemonOn(await pickleConfig(carbon.picklePort));
    const t0 = Math.floor(Date.now() / 1000) - 2;
    await d.send('pk.requests:7|c\npk.requests:3|c\npk.latency:100|ms\npk.latency:300|ms\npk.temp:-21.5|g\npk.users:a|s\npk.users:b|s');
    const until = (): number => Math.floor(Date.now() / 1000) + 2;
    const counts = await waitFor(
      () => {
        const p = carbon.fetch('stats_counts.pk.requests', t0, until());
        return p.length > 0 ? p : undefined;
      },
      30_000,
      'stats_counts.pk.requests in whisper',
    );
    expect(counts[0]![1]).toBe(10);
    const ts = counts[0]![0];
    const one = (path: string): Promise<number> =>
      waitFor(() => carbon.fetch(path, ts - 1, ts + 1).find((p) => p[0] === ts)?.[1], 15_000, path);
    expect(await one('stats.pk.requests')).toBe(10);
    expect(await one('stats.timers.pk.latency.mean')).toBe(200);
    expect(await one('stats.timers.pk.latency.upper_90')).toBe(300);
    expect(await one('stats.timers.pk.latency.count')).toBe(2);
    expect(await one('stats.gauges.pk.temp')).toBe(-21.5);
    expect(await one('stats.sets.pk.users.count')).toBe(2);
    // the daemon's own figures travel the same way
    expect(await one('statsd.numStats')).toBeGreaterThanOrEqual(4);
    const stats = statsMap(await d.admin('stats'));
    expect(Number(stats.get('graphite.flush_length'))).toBeGreaterThan(0);
    expect(stats.get('graphite.dropped_lines')).toBe('0');
  }, 90_000);

  it('flushes made while carbon is down are replayed over pickle once it is up: every count arrives', async () => {
    const picklePort = await freePort();
    const d = await daemonOn(await pickleConfig(picklePort, ', graphite: { timeoutMs: 1000 }'));
    const t0 = Math.floor(Date.now() / 1000) - 1;
    let sent = 0;
    // traffic with carbon down until several flushes wait in the queue (at most ~10 s)
    let stats = new Map<string, string>();
    for (let i = 0; i < 40 && !(stat(stats, 'graphite.queued_flushes') >= 2); i++) {
      await d.send(Array.from({ length: 10 }, () => 'pkq.hits:1|c').join('\n'));
      sent += 10;
      await pace(250);
      stats = statsMap(await d.admin('stats'));
    }
    expect(Number(stats.get('graphite.queued_flushes'))).toBeGreaterThan(0);
    const carbon = new Carbon();
    cleanups.push(() => carbon.stop());
    await carbon.start({ picklePort });
    const total = (): number => carbon.fetch('stats_counts.pkq.hits', t0, Math.floor(Date.now() / 1000) + 2).reduce((s, p) => s + p[1], 0);
    await waitFor(() => total() === sent || undefined, 40_000, `${sent} hits in whisper (got ${total()})`);
    // points from before carbon started, at their own timestamps
    const points = carbon.fetch('stats_counts.pkq.hits', t0, Math.floor(Date.now() / 1000) + 2);
    expect(points.length).toBeGreaterThan(1);
    expect(statsMap(await d.admin('stats')).get('graphite.dropped_lines')).toBe('0');
  }, 90_000);
});

describe('Graphite pickle: what cannot be resent is counted', () => {
  it('with graphite.queueBytes 0 and a receiver that resets, dropped_lines counts the points lost', async () => {
    // reads 100 bytes of each connection, then resets it
    const server = net.createServer((s) => {
      let got = 0;
      s.on('data', (b: Buffer) => {
        got += b.length;
        if (got >= 100) s.resetAndDestroy();
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const d = await daemonOn(await pickleConfig(port, ', graphite: { timeoutMs: 1000, queueBytes: 0 }'));
    await d.send('pkdrop.a:1|c');
    const n = stat(await waitStats(d, (s) => stat(s, 'graphite.dropped_lines') !== 0, 'dropped_lines', 20_000), 'graphite.dropped_lines');
    expect(n).toBeGreaterThan(0);
    // the log line may reach the pipe a moment after the counter moves
    await waitFor(() => d.stderr.some((l) => l.includes('cannot be resent')) || undefined, 5_000, 'the "cannot be resent" log line');
  }, 40_000);
});
