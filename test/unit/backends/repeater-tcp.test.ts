/** The TCP repeater against real sockets on 127.0.0.1: lines, reconnects, the bounded queue. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRepeaterBackend } from '../../../src/backends/repeater/index.js';
import { TcpTarget } from '../../../src/backends/repeater/tcp.js';
import type { Backend } from '../../../src/backends/types.js';
import { config, context, recordingLogger } from './fixtures.js';
import { waitFor } from './net-helpers.js';

/** A TCP listener that keeps every byte it reads, across connections. */
class Receiver {
  text = '';
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | null = null;
  port = 0;

  async listen(port = 0): Promise<number> {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.setEncoding('utf8');
      s.on('data', (d: string) => (this.text += d));
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(port, '127.0.0.1', () => res());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Closes the listener and every connection (the target goes down). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
    this.server = null;
  }
}

async function freePort(): Promise<number> {
  const r = new Receiver();
  const port = await r.listen();
  await r.close();
  return port;
}

const receivers: Receiver[] = [];
const backends: Backend[] = [];
afterEach(async () => {
  for (const b of backends.splice(0)) await b.stop(100);
  for (const r of receivers.splice(0)) await r.close();
});

function repeater(ports: number[], over: Record<string, unknown> = {}): Backend {
  const b = createRepeaterBackend(
    context(config({ repeaterProtocol: 'tcp', repeater: ports.map((port) => ({ host: '127.0.0.1', port })), ...over })),
  );
  backends.push(b);
  return b;
}

function send(b: Backend, text: string): void {
  const buf = Buffer.from(`xx${text}yy`);
  b.packet!(buf, 2, buf.length - 2); // a range inside a larger buffer, as the listeners hand it
}

describe('TCP repeater', () => {
  it('writes every packet to every target as lines over one kept connection', async () => {
    const rs = [new Receiver(), new Receiver()];
    receivers.push(...rs);
    const ports = [await rs[0]!.listen(), await rs[1]!.listen()];
    const b = repeater(ports);
    await b.start();
    await waitFor(() => rs.every((r) => r.connections === 1), 5000, 'both connected');
    send(b, 'a:1|c');
    send(b, 'b:2|c\nc:3|ms\n');
    send(b, 'd:4|g');
    const want = 'a:1|c\nb:2|c\nc:3|ms\nd:4|g\n';
    await waitFor(() => rs.every((r) => r.text === want), 5000, 'the lines at both targets');
    expect(rs.map((r) => r.connections)).toEqual([1, 1]);
    expect(Object.fromEntries(b.status())).toMatchObject({ packets_sent: 6, dropped_packets: 0, connected_targets: 2 });
  });

  it('queues while the target is down and delivers in order once it is up (reconnect with backoff)', async () => {
    const port = await freePort();
    const b = repeater([port]);
    await b.start();
    for (let i = 0; i < 20; i++) send(b, `q${i}:1|c`);
    expect(Object.fromEntries(b.status()).connected_targets).toBe(0);
    await new Promise((r) => setTimeout(r, 600)); // a few refused attempts
    const down = b.state!();
    expect(down).toMatchObject({ connected: false, replaying: false });
    expect(down.lastError).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    const r = new Receiver();
    receivers.push(r);
    await r.listen(port);
    const want = Array.from({ length: 20 }, (_, i) => `q${i}:1|c\n`).join('');
    await waitFor(() => r.text === want, 10_000, 'the queued packets, in order');
    expect(b.state!()).toMatchObject({ connected: true, replaying: false });
    // the connection breaks: later packets go over a new one
    await r.close();
    await waitFor(() => Object.fromEntries(b.status()).connected_targets === 0, 5000, 'the loss noticed');
    send(b, 'after:1|c');
    const r2 = new Receiver();
    receivers.push(r2);
    await r2.listen(port);
    await waitFor(() => r2.text === 'after:1|c\n', 15_000, 'the packet after the reconnect');
    expect(Object.fromEntries(b.status())).toMatchObject({ dropped_packets: 0 });
  }, 30_000);

  it('bounds the queue in bytes: the oldest packets are dropped and counted, logged once', async () => {
    const port = await freePort();
    const { log, entries } = recordingLogger();
    const t = new TcpTarget({ host: '127.0.0.1', port }, 100, log, 50, 100);
    t.connect();
    // 30 packets of 10 bytes while down: 100 bytes fit, the 20 oldest go
    for (let i = 0; i < 30; i++) t.send(Buffer.from(`k${String(i).padStart(2, '0')}:123|c\n`));
    expect(t.droppedPackets).toBe(20);
    expect(t.droppedBytes).toBe(200);
    expect(t.pendingBytes).toBe(100);
    expect(entries.filter((e) => String(e.msg).includes('queue full')).length).toBe(1);
    const r = new Receiver();
    receivers.push(r);
    await r.listen(port);
    const want = Array.from({ length: 10 }, (_, i) => `k${20 + i}:123|c\n`).join('');
    await waitFor(() => r.text === want, 10_000, 'the 10 newest packets');
    await t.stop(500);
    expect(entries.some((e) => String(e.msg).includes('target is back'))).toBe(true);
  }, 20_000);

  it('the config accepts repeaterProtocol tcp and repeaterQueueBytes', async () => {
    const { validateConfig } = await import('../../../src/config/index.js');
    const c = validateConfig({ repeaterProtocol: 'tcp', repeaterQueueBytes: 1024, repeater: [{ host: 'h', port: 1 }] }).config;
    expect(c.repeaterProtocol).toBe('tcp');
    expect(c.repeaterQueueBytes).toBe(1024);
  });
});
