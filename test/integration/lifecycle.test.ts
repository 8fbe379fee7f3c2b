/**
 * Stop and TCP input, black-box: counts sent just before SIGTERM reach Graphite; the TCP listener
 * reassembles split lines and takes a last line without a newline at close.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { originalStyleConfig, startDaemon, statusUrl, sum, useGraphiteAndDaemon, waitCounters, waitFor, waitForAsync } from './harness.js';

const env = useGraphiteAndDaemon();

describe('stopping', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} flushes the partial interval before exiting 0`, async () => {
      env.daemon = await startDaemon(originalStyleConfig(env.graphite.port, ', flushInterval: 60000'));
      for (let i = 0; i < 50; i++) await env.daemon.send('last.words:2|c');
      // wait until the daemon has read them all (the admin port shows the live counters)
      let counters = '';
      await waitForAsync(
        async () => (counters = await env.daemon!.admin('counters')).includes("'last.words': 100"),
        5000,
        'last.words in the counters',
      ).catch(() => undefined);
      expect(counters).toContain("'last.words': 100");
      const code = await env.daemon.stop(signal);
      expect(code).toBe(0);
      expect(sum(env.graphite.values('stats_counts.last.words'))).toBe(100);
    });
  }
});

describe('tcp input', () => {
  it('reassembles lines split across chunks and takes the last line at close', async () => {
    env.daemon = await startDaemon(
      originalStyleConfig(
        env.graphite.port,
        `, servers: [ { server: './servers/udp', address: '127.0.0.1', port: 0 },
                      { server: './servers/tcp', address: '127.0.0.1', port: 0 } ]`,
      ),
    );
    const tcpPort = env.daemon.tcpPorts[0]!;
    expect(tcpPort).toBeGreaterThan(0);
    const sock = net.createConnection(tcpPort, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    // each part read before the next is written: the lines are reassembled across reads
    sock.write('tcp.a:1|c\ntcp.b:');
    await waitCounters(env.daemon, "'tcp.a': 1");
    sock.write('2|c\ntcp.c:3');
    await waitCounters(env.daemon, "'tcp.b': 2");
    sock.end('|c');
    const f = await waitFor(() => {
      for (const flush of env.graphite.byTimestamp().values()) if (flush.has('stats_counts.tcp.c')) return flush;
      return undefined;
    });
    expect(f.get('stats_counts.tcp.a')).toBe(1);
    expect(f.get('stats_counts.tcp.b')).toBe(2);
    expect(f.get('stats_counts.tcp.c')).toBe(3);
    // UDP still works beside it
    await env.daemon.send('udp.x:4|c');
    await waitFor(() => env.graphite.values('stats_counts.udp.x').includes(4));
  });
});

describe('tcp input on a Unix stream socket', () => {
  it('reads lines from the socket path', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const path = join(mkdtempSync(join(tmpdir(), 'tallyd-sock-')), 'statsd.sock');
    env.daemon = await startDaemon(
      originalStyleConfig(
        env.graphite.port,
        `, servers: [ { server: 'udp', address: '127.0.0.1', port: 0 },
                      { server: 'tcp', socket: '${path}', socket_mod: '600' } ]`,
      ),
    );
    const sock = net.createConnection(path);
    await new Promise((r) => sock.on('connect', r));
    sock.end('unix.a:5|c\nunix.t:12|ms\n');
    await waitFor(() => env.graphite.values('stats_counts.unix.a').includes(5));
    await waitFor(() => env.graphite.values('stats.timers.unix.t.upper').includes(12));
  });
});

describe('console backend', () => {
  it('prints each flush as JSON on stdout', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
      backends: ['./backends/console'], console: { prettyprint: false } }`);
    await env.daemon.send('con.a:2|c\ncon.g:4|g');
    const line = await waitFor(() => env.daemon!.stdout.find((l) => l.startsWith('{') && l.includes('con.a')));
    const obj = JSON.parse(line) as {
      counters: Record<string, number>;
      gauges: Record<string, number>;
      counter_rates: Record<string, number>;
    };
    expect(obj.counters['con.a']).toBe(2);
    expect(obj.counter_rates['con.a']).toBe(4);
    expect(obj.gauges['con.g']).toBe(4);
    expect(env.daemon.stdout.some((l) => l.startsWith('Flushing stats at'))).toBe(true);
  });

  it('goes on when its stdout is closed (EPIPE): logged once, the status page shows it, the daemon keeps running', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 200,
      backends: ['./backends/console'], statusPage: { port: 0 } }`);
    const d = env.daemon;
    await waitFor(() => d.stdout.some((l) => l.startsWith('Flushing stats at')), 10_000, 'a first flush printed');
    d.proc.stdout!.destroy(); // the reader goes away, as with `tallyd ... | head`
    for (let i = 0; i < 5; i++) await d.send(`after.close:${i}|c`);
    await waitFor(() => d.stderr.some((l) => l.includes('console backend: its output failed')), 10_000, 'the failure logged');
    await new Promise((r) => setTimeout(r, 1000)); // five more flushes
    expect(d.proc.exitCode).toBeNull();
    expect(d.stderr.filter((l) => l.includes('console backend: its output failed'))).toHaveLength(1);
    expect((await d.admin('health')).trim()).toBe('health: up');
    const page = (await (await fetch(statusUrl(d) + 'api/status')).json()) as {
      backends: Array<{ name: string; state: { connected: boolean; lastError: string } | null }>;
    };
    expect(page.backends.find((b) => b.name === 'console')!.state).toMatchObject({
      connected: false,
      lastError: expect.stringContaining('EPIPE'),
    });
  });
});

describe('udp over IPv6 (address_ipv6)', () => {
  it('binds an IPv6 socket and aggregates what it receives', async () => {
    const dgram = await import('node:dgram');
    env.daemon = await startDaemon(
      `{ graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, port: 0, address: '::1', address_ipv6: true,
         mgmt_port: 0, flushInterval: 1000 }`,
    );
    const port = env.daemon.udpPort;
    expect(env.daemon.stderr.some((l) => l.includes(`"udp ::1:${port}"`))).toBe(true);
    const sock = dgram.createSocket('udp6');
    await new Promise<void>((res, rej) => sock.send(Buffer.from('v6.hits:3|c'), port, '::1', (e) => (e ? rej(e) : res())));
    sock.close();
    await waitFor(() => env.graphite.values('stats_counts.v6.hits').includes(3));
  });
});
