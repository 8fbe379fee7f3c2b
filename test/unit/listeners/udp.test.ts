/** The UDP listener on a real socket, and readUdpDrops against the kernel's /proc/net/udp. */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../../src/config/types.js';
import { loadNativeReader, nativeReaderProblem, SLOTS } from '../../../src/listeners/native.js';
import { readUdpDrops, startUdpListener, type UdpListener } from '../../../src/listeners/udp.js';

const log = pino({ level: 'silent' });
const cfg = (over: Partial<ServerConfig> = {}): ServerConfig => ({
  server: 'udp',
  module: undefined,
  moduleConfig: undefined,
  socket: undefined,
  socketMod: undefined,
  address: '127.0.0.1',
  port: 0,
  addressIpv6: false,
  recvBufferBytes: 1 << 20,
  maxLineLength: 65536,
  maxConnections: 1000,
  idleTimeoutMs: 0,
  ...over,
});
let listener: UdpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

const send = (sock: dgram.Socket, payload: Buffer | string, port: number): Promise<void> =>
  new Promise((res, rej) => sock.send(payload, port, '127.0.0.1', (e) => (e ? rej(e) : res())));

it.runIf(process.platform === 'linux')('the native reader is built and loads (npm install builds it)', () => {
  expect(nativeReaderProblem()).toBeUndefined();
  expect(loadNativeReader()).not.toBeNull();
});

const waitUntil = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

describe.each(['native', 'dgram'] as const)('udp listener (%s)', (reader) => {
  const start = (over: Partial<ServerConfig>, onPacket: (buf: Buffer, start: number, end: number) => void) =>
    startUdpListener(cfg(over), onPacket, log, reader);

  it('hands every datagram over whole, byte for byte, with its bounds', async () => {
    const got: string[] = [];
    listener = await start({}, (buf, start, end) => got.push(buf.toString('latin1', start, end)));
    expect(listener.kind).toBe('udp');
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.description).toBe(`udp 127.0.0.1:${listener.port}`);
    const sock = dgram.createSocket('udp4');
    const bin = Buffer.from([0, 0xff, 0x0a, 0x80, 0x3a]);
    await send(sock, 'a:1|c\nb:2|c', listener.port);
    await send(sock, bin, listener.port);
    await waitUntil(() => got.length >= 2);
    sock.close();
    expect(got).toEqual(['a:1|c\nb:2|c', bin.toString('latin1')]);
  });

  it('delivers bursts larger than one batch, in order, and the largest datagram whole', async () => {
    const got: string[] = [];
    listener = await start({ recvBufferBytes: 8 << 20 }, (buf, s, e) => got.push(buf.toString('latin1', s, e)));
    const sock = dgram.createSocket('udp4');
    const n = SLOTS * 5 + 7;
    // sent without waiting: several datagrams wait in the socket, so the reader takes them in batches
    await Promise.all(Array.from({ length: n }, (_, i) => send(sock, `k${i}:${i}|c`, listener!.port)));
    const big = Buffer.alloc(65_507, 0x62);
    big.write('big:1|c\n');
    await send(sock, big, listener.port);
    await waitUntil(() => got.length >= n + 1);
    sock.close();
    expect(got.slice(0, n)).toEqual(Array.from({ length: n }, (_, i) => `k${i}:${i}|c`));
    expect(got[n]!.length).toBe(65_507);
    expect(got[n]!.startsWith('big:1|c\nbbb')).toBe(true);
  });

  it('listens on IPv6', async () => {
    const got: string[] = [];
    listener = await start({ address: '::1', addressIpv6: true }, (buf, s, e) => got.push(buf.toString('latin1', s, e)));
    const sock = dgram.createSocket('udp6');
    await new Promise<void>((res, rej) => sock.send('v6:1|c', listener!.port, '::1', (e) => (e ? rej(e) : res())));
    await waitUntil(() => got.length >= 1);
    sock.close();
    expect(got).toEqual(['v6:1|c']);
  });

  it('refuses to start on a port in use', async () => {
    listener = await start({}, () => undefined);
    await expect(start({ port: listener.port }, () => undefined)).rejects.toThrow(/EADDRINUSE/);
  });

  it('closes: the port can be bound again', async () => {
    const first = await start({}, () => undefined);
    const port = first.port;
    await first.close();
    listener = await start({ port }, () => undefined);
    expect(listener.port).toBe(port);
  });
});

describe('readUdpDrops', () => {
  it('is null without ports', () => {
    expect(readUdpDrops([])).toBeNull();
  });

  it.runIf(existsSync('/proc/net/udp'))('reads 0 for a fresh socket and counts what the kernel dropped', async () => {
    let received = 0;
    listener = await startUdpListener(cfg({ recvBufferBytes: 4096 }), () => received++, log);
    expect(readUdpDrops([listener.port])).toBe(0);
    // flood it without yielding to the event loop: nothing is read meanwhile, the tiny buffer overflows
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    sock.connect(listener.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const payload = Buffer.alloc(1000, 0x61);
    const sent = 2000;
    for (let i = 0; i < sent; i++) sock.send(payload);
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    const drops = readUdpDrops([listener.port]);
    expect(drops).toBeGreaterThan(0);
    expect(drops! + received).toBeLessThanOrEqual(sent);
    // another port's drops are not ours
    expect(readUdpDrops([1])).toBe(0);
  });
});
