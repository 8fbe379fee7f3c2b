/**
 * What only the cluster mode (`workers: 2`) has: traffic spread over the workers, the final
 * partials collected on SIGTERM, a bad `workers` value refused. The Graphite conformance cases run
 * with `workers: 2` too, in graphite-blackbox.test.ts.
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { flushWith, logText, MAIN, originalStyleConfig, pace, sleep, startDaemon, useGraphiteAndDaemon, waitFor } from './harness.js';

const env = useGraphiteAndDaemon();

function workersConfig(graphitePort: number, extra = ''): string {
  return originalStyleConfig(graphitePort, `, workers: 2\n${extra}`);
}

/** Waits for `n` workers' 'listening on udp' log lines (a worker may log after the primary says it is up). */
async function workersListening(n: number): Promise<void> {
  const pids = (): number => new Set(env.daemon!.stderr.filter((l) => l.includes('"component":"worker"') && l.includes('listening on udp')).map((l) => (JSON.parse(l) as { pid: number }).pid)).size;
  await waitFor(() => pids() >= n, 10_000, `${n} workers listening`);
}

/** Sum of a path's values over every flush so far. */
function total(path: string): number {
  return env.graphite.values(path).reduce((a, b) => a + b, 0);
}

describe('cluster mode only', () => {
  it('starts two workers sharing the port and counts every packet across them', async () => {
    env.daemon = await startDaemon(workersConfig(env.graphite.port));
    const up = env.daemon.stderr.find((l) => l.includes('"tallyd is up"'))!;
    expect(JSON.parse(up).workers).toBe(2);
    await workersListening(2);
    const workerLogs = new Set(env.daemon.stderr.filter((l) => l.includes('"component":"worker"') && l.includes('listening on udp')).map((l) => (JSON.parse(l) as { pid: number }).pid));
    expect(workerLogs.size).toBe(2);
    for (let i = 0; i < 400; i++) {
      await env.daemon.send('spread:1|c\nspread.t:' + (i % 50) + '|ms\nspread.s:m' + (i % 17) + '|s');
      if (i % 50 === 0) await pace(5);
    }
    await waitFor(() => total('stats_counts.spread') === 400, 10_000, 'all 400 counter lines');
    expect(total('stats_counts.statsd.packets_received')).toBeGreaterThanOrEqual(400);
    expect(total('stats.timers.spread.t.count')).toBe(400);
  });

  it('with a fixed port, each worker reads its own SO_REUSEPORT socket natively, and nothing is lost', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    env.daemon = await startDaemon(workersConfig(env.graphite.port, `, servers: [{ server: 'udp', address: '127.0.0.1', port: ${port} }]`));
    await workersListening(2);
    const listening = env.daemon.stderr
      .filter((l) => l.includes('"component":"worker"') && l.includes('listening on udp'))
      .map((l) => JSON.parse(l) as { pid: number; reader?: string; reusePort?: boolean; msg: string });
    expect(new Set(listening.map((l) => l.pid)).size).toBe(2);
    for (const l of listening) {
      expect(l.reader).toBe('native');
      expect(l.reusePort).toBe(true);
      expect(l.msg).toBe(`listening on udp 127.0.0.1:${port}`);
    }
    // several senders (source ports): the kernel spreads them over the workers' sockets
    const senders = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return s;
      }),
    );
    for (let i = 0; i < 400; i++) {
      const s = senders[i % senders.length]!;
      await new Promise<void>((res, rej) => s.send('rp:1|c', port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      if (i % 50 === 0) await pace(5);
    }
    for (const s of senders) s.close();
    await waitFor(() => total('stats_counts.rp') === 400, 10_000, 'all 400 counter lines');
  });

  it('SIGTERM collects the workers\' partial interval and flushes it', async () => {
    env.daemon = await startDaemon(workersConfig(env.graphite.port, ', flushInterval: 60000'));
    await env.daemon.send('final:7|c\nfinal.g:3|g\nfinal.t:4|ms');
    // (no signal to wait on: a worker's live counts are seen by the primary only at a flush, and the
    // interval is 60 s; 200 ms for a worker to read one datagram from its socket)
    await sleep(200);
    const code = await env.daemon.stop();
    env.daemon = undefined;
    expect(code).toBe(0);
    const f = await flushWith(env.graphite, 'stats_counts.final', 0);
    expect(f.get('stats_counts.final')).toBe(7);
    expect(f.get('stats.gauges.final.g')).toBe(3);
    expect(f.get('stats.timers.final.t.sum')).toBe(4);
  });

  it('admin counters show the merged state as of the last flush', async () => {
    env.daemon = await startDaemon(workersConfig(env.graphite.port));
    await env.daemon.send('adm:5|c\nadmg:9|g');
    await flushWith(env.graphite, 'stats_counts.adm');
    const gauges = await env.daemon.admin('gauges');
    expect(gauges).toContain('admg: 9');
    const counters = await env.daemon.admin('counters');
    expect(counters).toContain('adm:');
  });

  it('refuses a workers value that is not a positive integer', () => {
    const r = spawnSync(process.execPath, [MAIN, '--workers', '0', '--check-config'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(logText(r.stderr)).toMatch(/workers/);
  });
});
