/**
 * What only the cluster mode (`workers: 2`) has: traffic spread over the workers, the final
 * partials collected on SIGTERM, a bad `workers` value refused. The Graphite conformance cases run
 * with `workers: 2` too, in graphite-blackbox.test.ts.
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import {
  flushWith,
  logText,
  MAIN,
  originalStyleConfig,
  pace,
  startDaemon,
  statsMap,
  statusUrl,
  sum,
  useGraphiteAndDaemon,
  waitFor,
  waitForAsync,
} from './harness.js';
import { httpGet, parseSamples, prometheusPort } from './prometheus-helpers.js';

const env = useGraphiteAndDaemon();

function workersConfig(graphitePort: number, extra = ''): string {
  return originalStyleConfig(graphitePort, `, workers: 2\n${extra}`);
}

/** Waits for `n` workers' 'listening on udp' log lines (a worker may log after the primary says it is up). */
async function workersListening(n: number): Promise<void> {
  const pids = (): number =>
    new Set(
      env
        .daemon!.stderr.filter((l) => l.includes('"component":"worker"') && l.includes('listening on udp'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    ).size;
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
    const workerLogs = new Set(
      env.daemon.stderr
        .filter((l) => l.includes('"component":"worker"') && l.includes('listening on udp'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
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

  it("SIGTERM collects the workers' partial interval and flushes it", async () => {
    env.daemon = await startDaemon(workersConfig(env.graphite.port, ', flushInterval: 60000, statusPage: { port: 0 }'));
    await env.daemon.send('final:7|c\nfinal.g:3|g\nfinal.t:4|ms');
    // the interval is 60 s: the status page's key search (which asks the workers for their live keys)
    // says when a worker has read the datagram
    const base = statusUrl(env.daemon);
    await waitForAsync(
      async () => {
        const a = (await (await fetch(`${base}api/keys?q=final`)).json()) as { keys: unknown[] };
        return a.keys.length === 3 ? a : undefined;
      },
      10_000,
      'the three keys live in a worker',
    );
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

/** The pids of the workers, from their `listening on udp` lines. */
function workerPids(stderr: string[]): number[] {
  return [
    ...new Set(
      stderr
        .filter((l) => l.includes('"component":"worker"') && l.includes('listening on udp'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    ),
  ];
}

describe('cluster mode behaves as one process (one pipeline)', () => {
  it('warns when maxKeys is reached, naming the top prefixes', async () => {
    env.daemon = await startDaemon(workersConfig(env.graphite.port, ', maxKeys: 20'));
    const d = env.daemon;
    const flood: string[] = [];
    for (let i = 0; i < 60; i++) flood.push(`flood.a.k${i}:1|c`);
    for (let i = 0; i < 20; i++) flood.push(`flood.b.k${i}:1|c`);
    for (let i = 0; i < flood.length; i += 10) await d.send(flood.slice(i, i + 10).join('\n'));
    const warn = await waitFor(() => d.stderr.find((l) => l.includes('maxKeys reached')), 10_000, 'the maxKeys warning');
    const w = JSON.parse(warn) as { level: number; dropped: number; topPrefixes: Record<string, number> };
    expect(w.level).toBe(40);
    expect(w.dropped).toBeGreaterThan(0);
    expect(Object.keys(w.topPrefixes)[0]).toBe('flood.a');
    await waitFor(() => g().has('stats_counts.statsd.keys_dropped'), 10_000, 'keys_dropped flushed');
    expect(sum(g().values('stats_counts.statsd.keys_dropped'))).toBeGreaterThan(0);
  });

  it('reports udp_receive_errors and key_table_bytes in each flush and in the admin stats', async () => {
    env.daemon = await startDaemon(workersConfig(env.graphite.port));
    await env.daemon.send('seen.c:1|c');
    await waitFor(() => g().values('stats.gauges.statsd.udp_receive_errors').length >= 2, 10_000, 'udp_receive_errors in two flushes');
    for (const v of g().values('stats.gauges.statsd.udp_receive_errors')) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    }
    expect(g().values('stats.gauges.statsd.key_table_bytes').at(-1)).toBeGreaterThan(0);
    const s = statsMap(await env.daemon.admin('stats'));
    expect(s.get('messages.udp_receive_errors')).toMatch(/^\d+$/);
    expect(s.get('messages.keys_dropped')).toBe('0');
  });

  it('the repeater counts what the workers sent on', async () => {
    const target = dgram.createSocket('udp4');
    let received = 0;
    target.on('message', () => received++);
    await new Promise<void>((r) => target.bind(0, '127.0.0.1', () => r()));
    try {
      env.daemon = await startDaemon(
        workersConfig(
          env.graphite.port,
          `, backends: ['./backends/graphite', './backends/repeater']
, repeater: [{ host: '127.0.0.1', port: ${target.address().port} }]`,
        ),
      );
      for (let i = 0; i < 40; i++) await env.daemon.send(`rep.c:1|c`);
      await waitFor(() => received === 40, 10_000, 'the 40 packets repeated');
      // the workers report their repeaters' counts with each partial: at most one flush later
      const d = env.daemon;
      const s = await waitForAsync(
        async () => {
          const m = statsMap(await d.admin('stats'));
          return m.get('repeater.packets_sent') === '40' ? m : undefined;
        },
        10_000,
        'repeater.packets_sent: 40',
      );
      expect(s.get('repeater.send_errors')).toBe('0');
    } finally {
      target.close();
    }
  });

  it("flush duration is CPU time, not the wait for a late worker's partial", async () => {
    env.daemon = await startDaemon(
      workersConfig(
        env.graphite.port,
        `, backends: ['./backends/graphite', './backends/prometheus']
, prometheus: { port: 0 }`,
      ),
    );
    const d = env.daemon;
    const prom = await prometheusPort(d);
    const pids = workerPids(d.stderr);
    expect(pids).toHaveLength(2);
    // one worker cannot answer: each flush waits min(2 s, flushInterval / 2) = 500 ms for its partial
    process.kill(pids[0]!, 'SIGSTOP');
    try {
      const stoppedAt = Math.floor(Date.now() / 1000);
      await d.send('late.c:1|c');
      await waitFor(
        () => d.stderr.find((l) => l.includes('a worker partial is late')),
        10_000,
        'a flush that waited for the stopped worker',
      );
      await waitFor(() => [...g().byTimestamp().keys()].some((ts) => ts > stoppedAt + 1), 10_000, 'a flush after the wait');
      const s = parseSamples((await httpGet(prom, '/metrics')).body);
      expect(Number(s.get('tallyd_flushes_total'))).toBeGreaterThan(0);
      expect(Number(s.get('tallyd_flush_duration_seconds'))).toBeLessThan(0.25);
    } finally {
      process.kill(pids[0]!, 'SIGCONT');
    }
  });
});

function g(): typeof env.graphite {
  return env.graphite;
}
