/** The UDP listener on a real socket, and readUdpDrops against the kernel's /proc/net/udp. */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../../src/config/types.js';
import { readUdpDrops, startUdpListener, type UdpListener } from '../../../src/listeners/udp.js';

const log = pino({ level: 'silent' });
const cfg = (over: Partial<ServerConfig> = {}): ServerConfig => ({
  server: 'udp', address: '127.0.0.1', port: 0, addressIpv6: false, recvBufferBytes: 1 << 20, maxLineLength: 65536, ...over,
});
let listener: UdpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

const send = (sock: dgram.Socket, payload: Buffer | string, port: number): Promise<void> =>
  new Promise((res, rej) => sock.send(payload, port, '127.0.0.1', (e) => (e ? rej(e) : res())));

describe('udp listener', () => {
  it('hands every datagram over whole, byte for byte, with its bounds', async () => {
    const got: string[] = [];
    listener = await startUdpListener(cfg(), (buf, start, end) => got.push(buf.toString('latin1', start, end)), log);
    expect(listener.kind).toBe('udp');
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.description).toBe(`udp 127.0.0.1:${listener.port}`);
    const sock = dgram.createSocket('udp4');
    const bin = Buffer.from([0, 0xff, 0x0a, 0x80, 0x3a]);
    await send(sock, 'a:1|c\nb:2|c', listener.port);
    await send(sock, bin, listener.port);
    const deadline = Date.now() + 2000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.close();
    expect(got).toEqual(['a:1|c\nb:2|c', bin.toString('latin1')]);
  });

  it('refuses to start on a port in use', async () => {
    listener = await startUdpListener(cfg(), () => undefined, log);
    await expect(startUdpListener(cfg({ port: listener.port }), () => undefined, log)).rejects.toThrow(/EADDRINUSE/);
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
