import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatGraphite, graphiteFormatOptions, namespaceConfigFrom } from '../../../src/backends/graphite/format.js';
import { createGraphiteBackend } from '../../../src/backends/graphite/index.js';
import { GraphiteTimeoutError, sendTcp } from '../../../src/backends/graphite/transport.js';
import type { Backend } from '../../../src/backends/types.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { config, context, counter, graphiteConfig, recordingLogger, referenceSnapshot, snapshot } from './fixtures.js';
import { type Sink, startSink, waitFor } from './net-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function sink(port = 0, opts: { stall?: boolean } = {}): Promise<Sink> {
  const s = await startSink(port, opts);
  cleanups.push(() => s.close());
  return s;
}

function backendFor(cfg: TallydConfig, log = recordingLogger().log): Backend {
  const b = createGraphiteBackend(context(cfg, log), { backoffMinMs: 20, backoffMaxMs: 80 });
  cleanups.push(() => b.stop(0));
  return b;
}

function cfgFor(port: number, raw: Record<string, unknown> = {}, timeoutMs = 1000): TallydConfig {
  // graphite.queueBytes as the config schema reads it into config.graphite
  const queueBytes = (raw.graphite as { queueBytes?: number } | undefined)?.queueBytes;
  return config({ graphite: graphiteConfig({ port, timeoutMs, ...(queueBytes === undefined ? {} : { queueBytes }) }), raw });
}

function status(b: Backend): Record<string, number | string> {
  return Object.fromEntries(b.status());
}

/** One small flush whose every line carries `ts`. */
function small(ts: number) {
  return snapshot({ timestamp: ts, counters: [counter('foo', ts)] });
}

/** The timestamps of each received connection, in arrival order. */
function timestamps(received: Buffer[]): number[][] {
  return received.map((b) => [
    ...new Set(
      b
        .toString()
        .trimEnd()
        .split('\n')
        .map((l) => Number(l.split(' ')[2])),
    ),
  ]);
}

describe('graphite transport', () => {
  it('delivers a flush over one TCP connection and updates its status', async () => {
    const s = await sink();
    const b = backendFor(cfgFor(s.port));
    await b.start();
    const snap = referenceSnapshot();
    await b.flush(snap);
    await waitFor(() => s.received.length === 1, 3000, 'delivery');
    const text = s.received[0]!.toString();
    const expected = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfgFor(s.port))), {
      lastException: 0,
      lastFlush: 1795421994,
      flushTime: 0,
      flushLength: 0,
      now: () => 0,
    }).bytes.toString();
    // Identical except for the measured calculationtime.
    const strip = (t: string) => t.replace(/calculationtime \d+/, 'calculationtime X');
    expect(strip(text)).toBe(strip(expected));
    await waitFor(() => status(b)['flush_length'] === s.received[0]!.length, 1000, 'status');
    const st = status(b);
    expect(st['last_flush']).toBeGreaterThanOrEqual(Math.round(Date.now() / 1000) - 2);
    expect(st['last_exception']).toBe(0);
    expect(st['queued_bytes']).toBe(0);

    // The next flush reports the previous delivery in its graphiteStats lines.
    await b.flush(small(TS2));
    await waitFor(() => s.received.length === 2, 3000, 'second delivery');
    expect(s.received[1]!.toString()).toContain(`stats.statsd.graphiteStats.flush_length ${s.received[0]!.length} ${TS2}\n`);
  });

  it('queues during an outage and replays in order with the original timestamps', async () => {
    const first = await sink();
    const port = first.port;
    await first.close();
    const { log, entries } = recordingLogger();
    const b = backendFor(cfgFor(port), log);
    await b.flush(small(100));
    await b.flush(small(101));
    await waitFor(() => (status(b)['last_exception'] as number) > 0, 2000, 'a failure');
    expect(status(b)['queued_flushes']).toBe(2);
    await b.flush(small(102));
    await new Promise((r) => setTimeout(r, 200)); // several retries fail meanwhile

    const back = await sink(port);
    await waitFor(() => back.received.length === 3, 3000, 'replay');
    await b.flush(small(103));
    await waitFor(() => back.received.length === 4, 3000, 'live flush');
    expect(timestamps(back.received)).toEqual([[100], [101], [102], [103]]);
    // the sink has the bytes before the queue sees the connection confirmed (the peer's close): wait for it
    await waitFor(() => status(b)['queued_bytes'] === 0, 5000, 'the queue empty once the last connection is confirmed');
    expect(status(b)['dropped_flushes']).toBe(0);
    // One warning for the whole outage, one info when it ends.
    expect(entries.filter((e) => e['level'] === 40)).toHaveLength(1);
    expect(entries.filter((e) => e['level'] === 30 && String(e['msg']).includes('reachable again'))).toHaveLength(1);
  });

  it('drops the oldest flushes past the byte bound and counts them', async () => {
    const first = await sink();
    const port = first.port;
    await first.close();
    const one = formatGraphite(small(100), graphiteFormatOptions(namespaceConfigFrom(cfgFor(port))), {
      lastException: 0,
      lastFlush: 0,
      flushTime: 0,
      flushLength: 0,
    });
    const { log, entries } = recordingLogger();
    // Room for two flushes (the graphiteStats values grow a little once a failure is recorded).
    const b = backendFor(cfgFor(port, { graphite: { queueBytes: Math.floor(one.bytes.length * 2.9) } }), log);
    for (let ts = 100; ts < 105; ts++) await b.flush(small(ts));
    // 101 and 102 go at once; 100 (in flight) goes when its attempt fails and it is the oldest again.
    await waitFor(() => status(b)['dropped_flushes'] === 3, 2000, 'three drops');
    expect(status(b)['dropped_lines']).toBe(3 * one.lines);
    expect(status(b)['queued_flushes']).toBe(2);
    expect(entries.filter((e) => e['level'] === 50)).toHaveLength(1); // logged once per outage

    const back = await sink(port);
    await waitFor(() => back.received.length === 2, 3000, 'replay');
    expect(timestamps(back.received)).toEqual([[103], [104]]);
  });

  it('delivers a single flush larger than the bound to a healthy Graphite', async () => {
    const s = await sink();
    const b = backendFor(cfgFor(s.port, { graphite: { queueBytes: 100 } }));
    const big = snapshot({ timestamp: 200, counters: Array.from({ length: 500 }, (_, i) => counter(`k${i}`, i)) });
    await b.flush(big);
    await waitFor(() => s.received.length === 1, 3000, 'delivery of the big flush');
    expect(s.received[0]!.length).toBeGreaterThan(100);
    expect(s.received[0]!.toString()).toContain('stats_counts.k499 499 200\n');
    expect(status(b)['dropped_flushes']).toBe(0);
  });

  it('times out on a peer that accepts and never reads, without blocking flush()', async () => {
    const s = await sink(0, { stall: true });
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const t0 = Date.now();
    await expect(sendTcp({ host: '127.0.0.1', port: s.port, timeoutMs: 200 }, big)).rejects.toBeInstanceOf(GraphiteTimeoutError);
    expect(Date.now() - t0).toBeLessThan(3000);

    // Through the backend: flush() returns at once, the failure is recorded later.
    const counters = Array.from({ length: 150_000 }, (_, i) => counter(`some.rather.long.metric.name.${i}`, i));
    const b = backendFor(cfgFor(s.port, {}, 200));
    const t1 = Date.now();
    await b.flush(snapshot({ timestamp: 100, counters }));
    await b.flush(small(101));
    expect(Date.now() - t1).toBeLessThan(2500); // formatting 300k lines, no network wait
    await waitFor(() => (status(b)['last_exception'] as number) > 0, 3000, 'timeout recorded');
    expect(status(b)['queued_flushes']).toBe(2);
  });

  it('a peer that reads but never closes its side does not confirm: the piece is rejected (close timeout) and resent', async () => {
    const got: Buffer[] = [];
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true }, (sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      sock.on('data', (d: Buffer) => got.push(d));
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
    const err = await sendTcp({ host: '127.0.0.1', port, timeoutMs: 200 }, Buffer.from('x 1 1\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphiteTimeoutError);
    expect(String(err)).toContain('close');
    expect(Buffer.concat(got).toString()).toBe('x 1 1\n'); // it had every byte: still not a confirmation

    const b = backendFor(cfgFor(port, {}, 200));
    await b.flush(small(100));
    await waitFor(() => Buffer.concat(got).toString().split('stats_counts.foo 100 100').length > 2, 5000, 'a resend');
  });

  it('a peer that closes its side before the end of the flush gets it resent', async () => {
    const got: Buffer[] = [];
    let n = 0;
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      if (n++ === 0) {
        sock.end(); // ends its side at once, before tallyd's end of stream: not a confirmation
        return;
      }
      const parts: Buffer[] = [];
      sock.on('data', (d: Buffer) => parts.push(d));
      sock.on('end', () => got.push(Buffer.concat(parts)));
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
    const b = backendFor(cfgFor(port));
    // larger than the socket buffers: tallyd is still writing when the peer's end of stream comes
    await b.flush(
      snapshot({ timestamp: 300, counters: Array.from({ length: 100_000 }, (_, i) => counter(`some.long.metric.name.k${i}`, i)) }),
    );
    await waitFor(() => status(b)['queued_flushes'] === 0 && got.length > 0, 10_000, 'the resend');
    expect(n).toBeGreaterThan(1);
    expect(status(b)['last_exception']).toBeGreaterThan(0); // the early close was a failure
    const all = got.map((x) => x.toString()).join('');
    for (let i = 0; i < 100_000; i += 997) expect(all).toContain(`stats_counts.some.long.metric.name.k${i} ${i} 300\n`);
    expect(all).toContain('stats_counts.some.long.metric.name.k99999 99999 300\n');
    expect(status(b)['dropped_lines']).toBe(0);
  });

  it('a peer that resets after N bytes gets every line in smaller pieces; whole flushes once it is healthy again', async () => {
    const got: string[] = [];
    let cutting = true;
    const sizes: number[] = [];
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      let seen = 0;
      let pending = '';
      sock.on('data', (d: Buffer) => {
        const take = cutting ? Math.min(d.length, 2000 - seen) : d.length;
        seen += take;
        pending += d.subarray(0, take).toString();
        const nl = pending.lastIndexOf('\n');
        if (nl >= 0) {
          got.push(...pending.slice(0, nl).split('\n'));
          pending = pending.slice(nl + 1);
        }
        if (cutting && seen >= 2000) sock.resetAndDestroy();
      });
      sock.on('end', () => sizes.push(seen));
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
    const { log, entries } = recordingLogger();
    // a 2 MiB bound: pieces of at most 1 MiB
    const b = backendFor(cfgFor(port, { graphite: { queueBytes: 2 * 1024 * 1024 } }), log);
    await b.flush(snapshot({ timestamp: 400, counters: Array.from({ length: 500 }, (_, i) => counter(`k${i}`, i)) }));
    await waitFor(() => status(b)['queued_flushes'] === 0, 10_000, 'delivery');
    const lines = new Set(got);
    for (let i = 0; i < 500; i++) expect(lines.has(`stats_counts.k${i} ${i} 400`)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThan(2000); // every confirmed connection carried less than the cut
    expect(status(b)['dropped_lines']).toBe(0);
    const warns = entries.filter((e) => e['level'] === 40);
    expect(warns).toHaveLength(1);
    expect(String(warns[0]!['msg'])).toContain('smaller pieces');
    // healthy again: pieces double back to whole flushes
    cutting = false;
    for (let ts = 401; ts < 440 && !entries.some((e) => String(e['msg']).includes('go whole again')); ts++) {
      await b.flush(snapshot({ timestamp: ts, counters: Array.from({ length: 500 }, (_, i) => counter(`k${i}`, i)) }));
      await waitFor(() => status(b)['queued_flushes'] === 0, 10_000, 'delivery');
    }
    expect(entries.some((e) => e['level'] === 30 && String(e['msg']).includes('go whole again'))).toBe(true);
    expect(warns).toHaveLength(1);
  });

  it('stop() delivers what is queued before the deadline', async () => {
    const s = await sink();
    const b = backendFor(cfgFor(s.port));
    await b.flush(small(100));
    await b.flush(small(101));
    await b.stop(2000);
    expect(status(b)['dropped_flushes']).toBe(0);
    await waitFor(() => s.received.length === 2, 2000, 'sink to see both');
    expect(timestamps(s.received)).toEqual([[100], [101]]);
  });

  it('stop() gives up at the deadline and reports the loss', async () => {
    const first = await sink();
    const port = first.port;
    await first.close();
    const { log, entries } = recordingLogger();
    const b = backendFor(cfgFor(port), log);
    await b.flush(small(100));
    const t0 = Date.now();
    await b.stop(300);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1500);
    expect(status(b)['dropped_flushes']).toBe(1);
    expect(entries.some((e) => e['level'] === 50 && e['lostFlushes'] === 1)).toBe(true);
  });

  it('discards flushes when no graphiteHost is configured, as the original', async () => {
    const b = backendFor(config({ graphite: graphiteConfig({ host: undefined }) }));
    await b.flush(referenceSnapshot());
    expect(status(b)['queued_flushes']).toBe(0);
    expect(status(b)['last_flush']).toBe(1795421994);
  });
});

const TS2 = 1795421996;
