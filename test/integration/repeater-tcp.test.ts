/**
 * `repeaterProtocol: 'tcp'` black-box: the built daemon repeats UDP packets as lines to a real TCP
 * listener, keeps them while the listener is gone, and delivers them once it is back.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon, waitFor, waitStats } from './harness.js';

let daemon: RunningDaemon | null = null;
const servers: net.Server[] = [];
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  for (const s of servers.splice(0)) s.close();
});

/** A TCP listener that appends what it reads to `into.text`; returns its port and a close that drops its connections. */
async function listen(port: number, into: { text: string }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (into.text += d));
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('TCP repeater (black-box)', () => {
  it('repeats packets as lines, keeps them through an outage, and delivers them after the reconnect', async () => {
    const got = { text: '' };
    const first = await listen(0, got);
    daemon = await startDaemon(`{
      port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000,
      backends: ['./backends/repeater'], repeaterProtocol: 'tcp',
      repeater: [{ host: '127.0.0.1', port: ${first.port} }],
    }`);
    await daemon.send('a:1|c');
    await daemon.send('b:2|ms\nc:3|g');
    await waitFor(() => got.text === 'a:1|c\nb:2|ms\nc:3|g\n', 10_000, 'the repeated lines');

    await first.close();
    await waitStats(daemon, (s) => s.get('repeater.connected_targets') === '0', 'the outage noticed (connected_targets 0)', 10_000);
    const later = { text: '' };
    for (let i = 0; i < 5; i++) await daemon.send(`late${i}:1|c`);
    await listen(first.port, later);
    await waitFor(
      () => later.text === [0, 1, 2, 3, 4].map((i) => `late${i}:1|c\n`).join(''),
      20_000,
      'the queued packets after the reconnect',
    );
    const stats = await daemon.admin('stats');
    expect(stats).toMatch(/^repeater\.dropped_packets: 0$/m);
    expect(stats).toMatch(/^repeater\.connected_targets: 1$/m);
  }, 60_000);
});
