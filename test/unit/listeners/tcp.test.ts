/** TCP line framing (LineFramer) and the TCP listener on a real socket: long lines are skipped, not fatal. */
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../../src/config/types.js';
import type { Listener } from '../../../src/listeners/types.js';
import { LineFramer, startTcpListener } from '../../../src/listeners/tcp.js';

const log = pino({ level: 'silent' });

function framer(max: number): { f: LineFramer; lines: string[]; tooLong: { n: number } } {
  const lines: string[] = [];
  const tooLong = { n: 0 };
  const f = new LineFramer(
    max,
    (buf, start, end) => {
      for (const l of buf.toString('utf8', start, end).split('\n')) if (l !== '') lines.push(l);
    },
    () => tooLong.n++,
  );
  return { f, lines, tooLong };
}

describe('LineFramer', () => {
  it('reassembles lines split across chunks, takes the last line at end', () => {
    const { f, lines, tooLong } = framer(100);
    f.push(Buffer.from('a:1|c\nb:'));
    f.push(Buffer.from('2|c\nc:3'));
    f.push(Buffer.from('|c'));
    f.end();
    expect(lines).toEqual(['a:1|c', 'b:2|c', 'c:3|c']);
    expect(tooLong.n).toBe(0);
  });

  it('skips a line over the limit inside one chunk and keeps its neighbours', () => {
    const { f, lines, tooLong } = framer(10);
    f.push(Buffer.from('ok:1|c\n' + 'x'.repeat(50) + '\nok:2|c\n'));
    expect(lines).toEqual(['ok:1|c', 'ok:2|c']);
    expect(tooLong.n).toBe(1);
  });

  it('skips a line over the limit spread over many chunks, counted once, and resumes after its newline', () => {
    const { f, lines, tooLong } = framer(10);
    f.push(Buffer.from('ok:1|c\nyyyy'));
    for (let i = 0; i < 20; i++) f.push(Buffer.from('z'.repeat(7)));
    f.push(Buffer.from('zz\nok:3|c\n'));
    f.push(Buffer.from('q'.repeat(30))); // unterminated and too long at close: dropped
    f.end();
    expect(lines).toEqual(['ok:1|c', 'ok:3|c']);
    expect(tooLong.n).toBe(2);
  });

  it('a line of exactly the limit is accepted', () => {
    const { f, lines, tooLong } = framer(6);
    f.push(Buffer.from('ab:1|c\n'));
    expect(lines).toEqual(['ab:1|c']);
    expect(tooLong.n).toBe(0);
  });
});

describe('tcp listener', () => {
  let listener: Listener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  it('counts an over-long line and keeps the connection open for the next ones', async () => {
    const cfg: ServerConfig = { server: 'tcp', address: '127.0.0.1', port: 0, addressIpv6: false, recvBufferBytes: 0, maxLineLength: 64 };
    const lines: string[] = [];
    let tooLong = 0;
    listener = await startTcpListener(
      cfg,
      (buf, s, e) => {
        for (const l of buf.toString('utf8', s, e).split('\n')) if (l !== '') lines.push(l);
      },
      () => tooLong++,
      log,
    );
    const sock = net.createConnection(listener.port, '127.0.0.1');
    let closed = false;
    sock.on('close', () => (closed = true));
    await new Promise((r) => sock.on('connect', r));
    sock.write('a:1|c\n' + 'L'.repeat(10_000) + '\nb:2|c\n');
    const deadline = Date.now() + 2000;
    while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.write('c:3|c\n');
    while (lines.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual(['a:1|c', 'b:2|c', 'c:3|c']);
    expect(tooLong).toBe(1);
    expect(closed).toBe(false);
    sock.destroy();
  });
});
