/**
 * Streaming delivery of a large Graphite flush: chunks written while later ones are formatted, from a
 * bounded pool, and resent when the connection fails part-way.
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatGraphite, graphiteFormatOptions, namespaceConfigFrom } from '../../../src/backends/graphite/format.js';
import { createGraphiteBackend, GraphiteBackend } from '../../../src/backends/graphite/index.js';
import { CHUNK_BYTES, ChunkPool, OutgoingFlush } from '../../../src/backends/graphite/outgoing.js';
import { sendTcp } from '../../../src/backends/graphite/transport.js';
import type { Backend } from '../../../src/backends/types.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { config, context, counter, graphiteConfig, recordingLogger, snapshot } from './fixtures.js';
import { startSink, waitFor } from './net-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function cfgFor(port: number): TallydConfig {
  return config({ graphite: graphiteConfig({ port, timeoutMs: 2000 }) });
}

/** About 30 MB of Graphite text: 300k counters with long names. */
function bigSnapshot(ts: number) {
  return snapshot({
    timestamp: ts,
    counters: Array.from({ length: 300_000 }, (_, i) => counter(`app.service${i % 97}.endpoint.requests.total.k${i}`, i % 1000)),
  });
}

function chunk(text: string): Buffer {
  return Buffer.from(text);
}

describe('OutgoingFlush', () => {
  it('holds the producer back only while it is being sent and more than the high water waits', async () => {
    const f = new OutgoingFlush({ timestamp: 1, highWater: 10 });
    f.append(chunk('a 1 1\nb 2 1\n'));
    expect(f.full).toBe(false); // not being sent: the queue's bound applies instead
    f.sending = true;
    expect(f.full).toBe(true);
    let resumed = false;
    const room = f.room().then(() => {
      resumed = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(false);
    const c = f.nextChunk()!;
    f.wrote(c);
    await room;
    expect(resumed).toBe(true);
    expect(f.unsentBytes).toBe(0);
  });

  it('rewinds everything the failed connection carried in front of what is unsent; a confirmed piece is not resent', () => {
    const f = new OutgoingFlush({ timestamp: 1 });
    for (const t of ['a 1 1\n', 'b 2 1\n', 'c 3 1\n', 'd 4 1\n', 'e 5 1\n']) f.append(chunk(t));
    f.end(5);
    f.wrote(f.nextChunk()!); // a
    f.confirm(); // its connection was confirmed: a is never resent
    f.wrote(f.nextChunk()!); // b
    f.wrote(f.nextChunk()!); // c
    const taken = f.nextChunk()!; // d: written, no confirmation yet
    expect(f.unsentBytes).toBe(12);
    const back = f.rewind([taken]);
    expect(back).toBe(12); // b and c came back
    expect(f.failedBytes).toBe(18); // b, c, d
    expect(f.failedMany).toBe(true);
    expect(f.lostRecords).toBe(0);
    expect(f.peekUnsent().toString()).toBe('b 2 1\nc 3 1\nd 4 1\ne 5 1\n');
    expect(f.unsentBytes).toBe(24);
  });

  it('cuts pieces at line boundaries, at least one line each; lines let go by the bound are counted if the connection fails', () => {
    const f = new OutgoingFlush({ timestamp: 1 });
    f.append(chunk('aa 1 1\nbb 2 1\ncc 3 1\n'));
    f.append(chunk('dddddddddddddddd 4 1\n'));
    f.end(4);
    const p1 = f.nextChunk(10)!; // one line fits in 10 bytes
    expect(p1.toString()).toBe('aa 1 1\n');
    expect(f.pieceFull).toBe(true);
    expect(f.nextChunk(10)).toBeNull();
    f.wrote(p1);
    f.confirm();
    const p2 = f.nextChunk(3)!; // no line fits: the first whole line
    expect(p2.toString()).toBe('bb 2 1\n');
    f.wrote(p2);
    f.confirm();
    const p3 = f.nextChunk(100)!;
    expect(p3.toString()).toBe('cc 3 1\n');
    const p4 = f.nextChunk(100)!;
    expect(p4.toString()).toBe('dddddddddddddddd 4 1\n');
    f.wrote(p3);
    f.wrote(p4);
    expect(f.releaseOldestWritten()).toBe(7); // cc: no longer kept
    expect(f.writtenBytes).toBe(21);
    f.rewind([]);
    expect(f.lostRecords).toBe(1);
    expect(f.peekUnsent().toString()).toBe('dddddddddddddddd 4 1\n');
  });

  it('gives whole chunks back to the pool once delivered, and the pool reuses them', () => {
    const pool = new ChunkPool(4);
    const a = pool.take();
    const b = pool.take();
    expect(pool.allocated).toBe(2);
    const f = new OutgoingFlush({ timestamp: 1, pool });
    f.append(a.subarray(0, 10));
    f.append(b.subarray(0, 20));
    f.end(0);
    f.release();
    expect(pool.freeChunks).toBe(2);
    const c = pool.take();
    expect(c.length).toBe(CHUNK_BYTES);
    expect(pool.allocated).toBe(2);
    pool.give(Buffer.alloc(10)); // not a pool chunk: ignored
    expect(pool.freeChunks).toBe(1);
  });
});

describe('streaming Graphite delivery', () => {
  it('sends a 30 MB flush byte for byte while formatting it, in pieces that fit the bound, from a bounded set of chunks', async () => {
    const s = await startSink();
    cleanups.push(() => s.close());
    // an 8 MiB bound: pieces (one connection each) of at most 4 MiB, kept until the peer confirms them; a long
    // timeout, so that a loaded machine does not time a piece out and resend it (at least once: the bytes would repeat)
    const cfg = config({ graphite: graphiteConfig({ port: s.port, timeoutMs: 30_000, queueBytes: 8 * CHUNK_BYTES }) });
    const b = new GraphiteBackend(context(cfg, recordingLogger().log), {});
    cleanups.push(() => b.stop(0));
    await b.start();
    const snap = bigSnapshot(300);
    await b.flush(snap);
    const expected = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfg)), {
      lastException: 0,
      lastFlush: 0,
      flushTime: 0,
      flushLength: 0,
    }).bytes;
    const got = (): number => s.received.reduce((n, x) => n + x.length, 0);
    await waitFor(() => got() >= expected.length - 100, 20_000, 'the big flush');
    const strip = (t: string) => t.replace(/calculationtime \d+/, 'calculationtime X').replace(/last_flush \d+/, 'last_flush X');
    expect(expected.length).toBeGreaterThan(25 * CHUNK_BYTES);
    const all = Buffer.concat(s.received);
    expect(strip(all.toString())).toBe(strip(expected.toString()));
    expect(s.received.length).toBeGreaterThanOrEqual(7);
    for (const r of s.received) {
      expect(r.length).toBeLessThanOrEqual(4 * CHUNK_BYTES);
      expect(r[r.length - 1]).toBe(0x0a); // whole lines per connection
    }
    // the whole flush never existed at once: far fewer chunks were ever allocated than it spans
    const pool = (b as unknown as { pool: ChunkPool }).pool;
    expect(pool.allocated).toBeLessThan(24);
    // (the sink has every byte before tallyd sees its close: the status follows)
    await waitFor(() => Object.fromEntries(b.status())['flush_length'] === all.length, 5000, 'the status');
  });

  it('resends what the connection carried when Graphite resets it part-way: every line arrives', async () => {
    // a Graphite that reads ~3 MB of the first connection, then resets it; later connections are read whole
    const got: Buffer[] = [];
    let connections = 0;
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      const n = connections++;
      let seen = 0;
      const parts: Buffer[] = [];
      sock.on('data', (d: Buffer) => {
        parts.push(d);
        seen += d.length;
        if (n === 0 && seen > 3 * CHUNK_BYTES) {
          got.push(Buffer.concat(parts));
          sock.resetAndDestroy();
        }
      });
      sock.on('end', () => {
        got.push(Buffer.concat(parts));
        sock.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const x of sockets) x.destroy();
          server.close(() => r());
        }),
    );
    const port = (server.address() as { port: number }).port;
    const b: Backend = createGraphiteBackend(context(cfgFor(port), recordingLogger().log), { backoffMinMs: 20, backoffMaxMs: 50 });
    cleanups.push(() => b.stop(0));
    const snap = bigSnapshot(400);
    await b.flush(snap);
    // delivered: nothing queued or in flight any more, after more than one connection
    await waitFor(() => got.length >= 2 && Object.fromEntries(b.status())['queued_flushes'] === 0, 30_000, 'the resend');
    const lines = new Set(
      got
        .map((x) => x.toString())
        .join('\n')
        .split('\n')
        .filter((l) => l.endsWith(' 400')),
    );
    for (let i = 0; i < 300_000; i += 997)
      expect(lines.has(`stats_counts.app.service${i % 97}.endpoint.requests.total.k${i} ${i % 1000} 400`)).toBe(true);
    // every counter line of the flush (2 per key) is there, none cut in half
    expect([...lines].filter((l) => l.startsWith('stats_counts.app.')).length).toBe(300_000);
    expect([...lines].filter((l) => l.startsWith('stats.app.')).length).toBe(300_000);
  });

  it('sendTcp still takes a plain Buffer', async () => {
    const s = await startSink();
    cleanups.push(() => s.close());
    await sendTcp({ host: '127.0.0.1', port: s.port, timeoutMs: 1000 }, Buffer.from('x 1 1\n'));
    await waitFor(() => s.received.length === 1, 2000, 'delivery');
    expect(s.received[0]!.toString()).toBe('x 1 1\n');
  });
});
