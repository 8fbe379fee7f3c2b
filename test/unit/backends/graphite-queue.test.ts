/**
 * The Graphite outage queue (src/backends/graphite/queue.ts) with a fake transport and fake timers:
 * no sockets, no sleeps. The transport is a SendFn that refuses while "down" (as a refused connect:
 * nothing written) and, while "up", reads the piece it is given to the end and confirms it.
 * What is checked: retries follow the capped exponential backoff, queued flushes are replayed oldest
 * first and each exactly once, the byte bound drops the OLDEST flushes (counted), and stop(deadline)
 * gives up at its deadline and counts what is left.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutgoingFlush } from '../../../src/backends/graphite/outgoing.js';
import { DeliveryQueue } from '../../../src/backends/graphite/queue.js';
import type { SendFn } from '../../../src/backends/graphite/transport.js';
import { DEFAULT_GRAPHITE_QUEUE_BYTES } from '../../../src/config/defaults.js';

const silent = pino({ level: 'silent' });

class FakeCarbon {
  up = true;
  /** Fake-clock ms of every attempt. */
  attempts: number[] = [];
  /** What each confirmed connection carried. */
  received: string[] = [];

  readonly send: SendFn = async (flush, _signal, limit) => {
    this.attempts.push(Date.now());
    if (!this.up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2003'), { code: 'ECONNREFUSED' });
    const parts: Buffer[] = [];
    for (;;) {
      const c = flush.nextChunk(limit);
      if (c === null) {
        if (flush.drained || flush.pieceFull) break;
        await flush.whenData();
        continue;
      }
      flush.wrote(c);
      parts.push(Buffer.from(c));
    }
    this.received.push(Buffer.concat(parts).toString());
    return 1;
  };
}

/** A complete flush of `lines` lines `name <i> <ts>` (11 bytes each for a 3-byte name and i < 10). */
function flushOf(name: string, ts: number, lines = 1): OutgoingFlush {
  let text = '';
  for (let i = 0; i < lines; i++) text += `${name} ${i} ${ts}\n`;
  return OutgoingFlush.of(Buffer.from(text), lines, ts);
}

/** Lets the queue's promise callbacks run (setImmediate is not faked). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('DeliveryQueue (fake transport, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an outage: retries back off 250 → 500 → 1000 … capped at backoffMax; the backlog is replayed in order, once each', async () => {
    const carbon = new FakeCarbon();
    carbon.up = false;
    const q = new DeliveryQueue({
      send: carbon.send,
      log: silent,
      maxBytes: DEFAULT_GRAPHITE_QUEUE_BYTES,
      backoffMinMs: 250,
      backoffMaxMs: 2000,
      lastFlush: 0,
      lastException: 0,
    });
    const t0 = Date.now();
    q.push(flushOf('m.a', 1001));
    await settle();
    expect(carbon.attempts).toEqual([t0]);
    expect(q.stats.failures).toBe(1);

    // flushes queued during the outage wait behind the first, none is attempted out of turn
    q.push(flushOf('m.b', 1002));
    q.push(flushOf('m.c', 1003));
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(2000);
      await settle();
    }
    const gaps = carbon.attempts.slice(1).map((t, i) => t - carbon.attempts[i]!);
    expect(gaps.slice(0, 5)).toEqual([250, 500, 1000, 2000, 2000]);
    expect(q.stats.queuedFlushes).toBe(3);
    expect(carbon.received).toEqual([]);

    carbon.up = true;
    await vi.advanceTimersByTimeAsync(2000);
    await settle();
    expect(carbon.received).toEqual(['m.a 0 1001\n', 'm.b 0 1002\n', 'm.c 0 1003\n']);
    expect(q.stats.delivered).toBe(3);
    expect(q.stats.queuedFlushes).toBe(0);
    expect(q.stats.droppedFlushes).toBe(0);
    expect(q.idle).toBe(true);

    // the backoff starts again from backoffMin after a success
    carbon.up = false;
    carbon.attempts = [];
    q.push(flushOf('m.d', 1004));
    await settle();
    await vi.advanceTimersByTimeAsync(250);
    await settle();
    expect(carbon.attempts.length).toBe(2);
    expect(carbon.attempts[1]! - carbon.attempts[0]!).toBe(250);
    await q.stop(0);
  });

  it('the byte bound drops the OLDEST queued flushes, counted in flushes and lines; the newest are delivered', async () => {
    const carbon = new FakeCarbon();
    carbon.up = false;
    // each flush is 4 lines of 11 bytes (44 bytes); the bound (160) holds 3 of them
    const q = new DeliveryQueue({
      send: carbon.send,
      log: silent,
      maxBytes: 160,
      backoffMinMs: 100,
      backoffMaxMs: 100,
      lastFlush: 0,
      lastException: 0,
    });
    for (let k = 1; k <= 6; k++) {
      q.push(flushOf('m.q', 1000 + k, 4));
      await settle();
    }
    expect(q.stats.droppedFlushes).toBe(3);
    expect(q.stats.droppedLines).toBe(12);
    expect(q.stats.queuedFlushes).toBe(3);
    expect(q.stats.queuedBytes).toBeLessThanOrEqual(160);

    carbon.up = true;
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(carbon.received.map((r) => r.split('\n')[0]!.split(' ')[2])).toEqual(['1004', '1005', '1006']);
    await q.stop(0);
  });

  it('stop(deadline) during an outage retries until the deadline, then counts what is left as lost', async () => {
    const carbon = new FakeCarbon();
    carbon.up = false;
    const q = new DeliveryQueue({
      send: carbon.send,
      log: silent,
      maxBytes: DEFAULT_GRAPHITE_QUEUE_BYTES,
      backoffMinMs: 250,
      backoffMaxMs: 10_000,
      lastFlush: 0,
      lastException: 0,
    });
    q.push(flushOf('m.s', 1001, 2));
    q.push(flushOf('m.s', 1002, 3));
    await settle();
    let stopped = false;
    const stopping = q.stop(1000).then(() => {
      stopped = true;
    });
    await settle();
    await vi.advanceTimersByTimeAsync(999);
    await settle();
    expect(stopped).toBe(false);
    const attemptsBeforeDeadline = carbon.attempts.length;
    expect(attemptsBeforeDeadline).toBeGreaterThan(2); // stop retried at once, then with backoff
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(q.stats.droppedFlushes).toBe(2);
    expect(q.stats.droppedLines).toBe(5);
    expect(q.idle).toBe(true);
    // nothing more is attempted after the stop
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(carbon.attempts.length).toBe(attemptsBeforeDeadline);
    expect(carbon.received).toEqual([]);
  });

  it('state() for the status page: not tried yet, unreachable with the last error, replaying the backlog, connected', async () => {
    const carbon = new FakeCarbon();
    carbon.up = false;
    const seen: Array<ReturnType<DeliveryQueue['state']>> = [];
    const q: DeliveryQueue = new DeliveryQueue({
      send: (flush, signal, limit) => {
        seen.push(q.state());
        return carbon.send(flush, signal, limit);
      },
      log: silent,
      maxBytes: DEFAULT_GRAPHITE_QUEUE_BYTES,
      backoffMinMs: 250,
      backoffMaxMs: 250,
      lastFlush: 0,
      lastException: 0,
    });
    expect(q.state()).toEqual({ connected: null, replaying: false, lastError: null, lastErrorAt: null });
    const t0 = Date.now();
    q.push(flushOf('m.a', 1001));
    q.push(flushOf('m.b', 1002));
    q.push(flushOf('m.c', 1003));
    await settle();
    expect(q.state()).toEqual({ connected: false, replaying: false, lastError: 'connect ECONNREFUSED 127.0.0.1:2003', lastErrorAt: t0 });

    carbon.up = true;
    seen.length = 0;
    await vi.advanceTimersByTimeAsync(250);
    await settle();
    expect(carbon.received.length).toBe(3);
    // at the start of each connection: a (the outage not over yet), then b and c (the backlog, replayed)
    expect(seen.map((s) => [s.connected, s.replaying])).toEqual([
      [false, false],
      [true, true],
      [true, true],
    ]);
    expect(q.state()).toEqual({ connected: true, replaying: false, lastError: 'connect ECONNREFUSED 127.0.0.1:2003', lastErrorAt: t0 });
  });
});
