/**
 * Stop and TCP input, black-box: counts sent just before SIGTERM reach Graphite; the TCP listener
 * reassembles split lines and takes a last line without a newline at close.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGraphite, originalStyleConfig, startDaemon, waitFor, type RunningDaemon } from './harness.js';

let graphite: FakeGraphite;
let daemon: RunningDaemon | undefined;

beforeEach(async () => {
  graphite = new FakeGraphite();
  await graphite.listen();
});
afterEach(async () => {
  if (daemon) await daemon.stop().catch(() => undefined);
  daemon = undefined;
  await graphite.close();
});

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('stopping', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} flushes the partial interval before exiting 0`, async () => {
      daemon = await startDaemon(originalStyleConfig(graphite.port, ', flushInterval: 60000'));
      for (let i = 0; i < 50; i++) await daemon.send('last.words:2|c');
      // wait until the daemon has read them all (the admin port shows the live counters)
      let counters = '';
      for (let i = 0; i < 100 && !counters.includes("'last.words': 100"); i++) {
        counters = await daemon.admin('counters');
        if (!counters.includes("'last.words': 100")) await new Promise((r) => setTimeout(r, 50));
      }
      expect(counters).toContain("'last.words': 100");
      const code = await daemon.stop(signal);
      expect(code).toBe(0);
      expect(sum(graphite.values('stats_counts.last.words'))).toBe(100);
    });
  }
});

describe('tcp input', () => {
  it('reassembles lines split across chunks and takes the last line at close', async () => {
    daemon = await startDaemon(
      originalStyleConfig(
        graphite.port,
        `, servers: [ { server: './servers/udp', address: '127.0.0.1', port: 0 },
                      { server: './servers/tcp', address: '127.0.0.1', port: 0 } ]`,
      ),
    );
    const tcpPort = daemon.tcpPorts[0]!;
    expect(tcpPort).toBeGreaterThan(0);
    const sock = net.createConnection(tcpPort, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    sock.write('tcp.a:1|c\ntcp.b:');
    await new Promise((r) => setTimeout(r, 50));
    sock.write('2|c\ntcp.c:3');
    await new Promise((r) => setTimeout(r, 50));
    sock.end('|c');
    const f = await waitFor(() => {
      for (const flush of graphite.byTimestamp().values()) if (flush.has('stats_counts.tcp.c')) return flush;
      return undefined;
    });
    expect(f.get('stats_counts.tcp.a')).toBe(1);
    expect(f.get('stats_counts.tcp.b')).toBe(2);
    expect(f.get('stats_counts.tcp.c')).toBe(3);
    // UDP still works beside it
    await daemon.send('udp.x:4|c');
    await waitFor(() => graphite.values('stats_counts.udp.x').includes(4));
  });
});
