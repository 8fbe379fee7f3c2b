/** TCP line framing (LineFramer) and the TCP listener on a real socket: long lines are skipped, not fatal. */
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../../src/config/types.js';
import { checkFdBudget, LineFramer, openFileLimit, startTcpListener, TcpStats } from '../../../src/listeners/tcp.js';
import type { Listener } from '../../../src/listeners/types.js';

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
    const cfg: ServerConfig = {
      server: 'tcp',
      module: undefined,
      moduleConfig: undefined,
      socket: undefined,
      socketMod: undefined,
      address: '127.0.0.1',
      port: 0,
      addressIpv6: false,
      recvBufferBytes: 0,
      maxLineLength: 64,
      maxConnections: 1000,
      idleTimeoutMs: 300_000,
    };
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

describe('LineFramer: linear in the bytes received', () => {
  it('a 60,000-byte line sent 1 byte at a time is copied O(n) times, not O(n²), and arrives whole', () => {
    const { f, lines, tooLong } = framer(65_536);
    const line = 'k:1|c'.padStart(60_000, 'a');
    const bytes = Buffer.from(line + '\nnext:2|c\n');
    for (let i = 0; i < bytes.length; i++) f.push(bytes.subarray(i, i + 1));
    expect(lines).toEqual([line, 'next:2|c']);
    expect(tooLong.n).toBe(0);
    // each byte is copied once into the pending buffer, plus the doublings (< 2 x): the old
    // re-concatenation copied n²/2 = 1.8e9 bytes here
    expect(f.copiedBytes).toBeLessThan(3 * bytes.length);
    expect(f.copiedBytes).toBeGreaterThanOrEqual(line.length);
  });

  it('the maximum line length still holds when the line trickles in byte by byte', () => {
    const { f, lines, tooLong } = framer(1000);
    const bytes = Buffer.from('x'.repeat(5000) + '\nok:1|c\n' + 'y'.repeat(1000) + '\n');
    for (let i = 0; i < bytes.length; i++) f.push(bytes.subarray(i, i + 1));
    expect(lines).toEqual(['ok:1|c', 'y'.repeat(1000)]);
    expect(tooLong.n).toBe(1);
    // the over-long line was dropped as soon as it passed the limit: little was copied, nothing is held
    expect(f.copiedBytes).toBeLessThan(3 * 2000);
    expect(f.pendingBytes).toBe(0);
  });

  it('many short partial lines across chunks: copies stay proportional to the partial bytes', () => {
    const { f, lines } = framer(65_536);
    let sent = 0;
    for (let i = 0; i < 2000; i++) {
      // each chunk ends mid-line: "…|c\nkey<i>:" then ":1|c\n…" in the next
      const a = Buffer.from(`key${i}:1`);
      const b = Buffer.from('|c\n');
      f.push(a);
      f.push(b);
      sent += a.length + b.length;
    }
    expect(lines).toHaveLength(2000);
    expect(f.copiedBytes).toBeLessThanOrEqual(sent);
  });
});

describe('tcp listener: connection cap and idle timeout', () => {
  let listener: Listener | undefined;
  const socks: net.Socket[] = [];
  afterEach(async () => {
    for (const s of socks.splice(0)) s.destroy();
    await listener?.close();
    listener = undefined;
  });

  const open = (port: number): Promise<{ sock: net.Socket; closed: Promise<void> }> =>
    new Promise((res, rej) => {
      const sock = net.createConnection(port, '127.0.0.1');
      socks.push(sock);
      const closed = new Promise<void>((c) => sock.on('close', () => c()));
      sock.on('error', () => undefined);
      sock.once('connect', () => res({ sock, closed }));
      sock.once('error', rej);
    });

  it('closes connections past maxConnections at once and counts them; the others keep working', async () => {
    const stats = new TcpStats();
    const lines: string[] = [];
    const cfg: ServerConfig = {
      server: 'tcp',
      module: undefined,
      moduleConfig: undefined,
      socket: undefined,
      socketMod: undefined,
      address: '127.0.0.1',
      port: 0,
      addressIpv6: false,
      recvBufferBytes: 0,
      maxLineLength: 64,
      maxConnections: 3,
      idleTimeoutMs: 0,
    };
    listener = await startTcpListener(
      cfg,
      (buf, s, e) => lines.push(buf.toString('utf8', s, e)),
      () => undefined,
      log,
      stats,
    );
    const conns = [];
    for (let i = 0; i < 8; i++) conns.push(await open(listener.port));
    // the 5 past the cap are closed by the listener
    let closedCount = 0;
    for (const c of conns) void c.closed.then(() => closedCount++);
    const deadline = Date.now() + 5000;
    while ((closedCount < 5 || stats.refused < 5) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(closedCount).toBe(5);
    expect(stats.refused).toBe(5);
    expect(stats.open).toBe(3);
    conns[0]!.sock.write('a:1|c\n');
    while (lines.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual(['a:1|c\n']);
    // a slot frees when one closes: a new connection is accepted again
    conns[0]!.sock.destroy();
    while (stats.open > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const again = await open(listener.port);
    again.sock.write('b:1|c\n');
    while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines[1]).toBe('b:1|c\n');
    expect(stats.refused).toBe(5);
  });

  it('closes a connection idle for idleTimeoutMs, counted; its partial last line is still taken', async () => {
    const stats = new TcpStats();
    const lines: string[] = [];
    const cfg: ServerConfig = {
      server: 'tcp',
      module: undefined,
      moduleConfig: undefined,
      socket: undefined,
      socketMod: undefined,
      address: '127.0.0.1',
      port: 0,
      addressIpv6: false,
      recvBufferBytes: 0,
      maxLineLength: 64,
      maxConnections: 1000,
      idleTimeoutMs: 300,
    };
    listener = await startTcpListener(
      cfg,
      (buf, s, e) => lines.push(buf.toString('utf8', s, e)),
      () => undefined,
      log,
      stats,
    );
    const idle = await open(listener.port);
    const busy = await open(listener.port);
    idle.sock.write('part:1|c');
    const t0 = Date.now();
    // the busy one sends every 100 ms and stays open
    const timer = setInterval(() => busy.sock.write('x:1|c\n'), 100);
    try {
      await idle.closed;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(stats.idleTimeouts).toBe(1);
      expect(lines).toContain('part:1|c');
      await new Promise((r) => setTimeout(r, 500));
      expect(busy.sock.destroyed).toBe(false);
    } finally {
      clearInterval(timer);
    }
    await busy.closed;
    expect(stats.idleTimeouts).toBe(2);
    const deadline = Date.now() + 2000;
    while (stats.open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(stats.open).toBe(0);
  });
});

describe('checkFdBudget', () => {
  const tcp = (maxConnections = 1000): ServerConfig => ({
    server: 'tcp',
    module: undefined,
    moduleConfig: undefined,
    socket: undefined,
    socketMod: undefined,
    address: '127.0.0.1',
    port: 0,
    addressIpv6: false,
    recvBufferBytes: 0,
    maxLineLength: 64,
    maxConnections,
    idleTimeoutMs: 300_000,
  });
  it('warns when the caps leave too few descriptors of the open-file limit', () => {
    const warned: unknown[] = [];
    const spy = { warn: (o: unknown, m: string) => warned.push([o, m]) } as unknown as Parameters<typeof checkFdBudget>[2];
    expect(checkFdBudget([tcp(100), tcp(200)], 16, spy, 1024)).toBe(true);
    expect(checkFdBudget([tcp(), tcp(200)], 16, spy, 1024)).toBe(false); // default 1000 + 200 + 16
    expect(checkFdBudget([tcp()], 16, spy, null)).toBe(true);
    expect(warned).toHaveLength(1);
    expect(String((warned[0] as unknown[])[1])).toContain('lower tcpMaxConnections or raise ulimit -n');
  });

  it('reads the soft limit of this process', () => {
    const n = openFileLimit();
    if (n !== null) expect(n).toBeGreaterThan(0);
  });
});
