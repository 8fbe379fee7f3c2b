/**
 * "Nothing lost" delivery for Graphite: every formatted flush goes through a bounded FIFO, and is
 * delivered at least once.
 *
 * - A flush enters the queue when its formatting starts (an {@link OutgoingFlush} whose chunks keep
 *   arriving); when it is at the head and Graphite is up, it is written while being formatted.
 * - One flush in flight at a time, oldest first, so Graphite sees points in order and a replay
 *   after an outage comes before the live flushes queued behind it.
 * - A connection is confirmed when the peer closes it in order after our end of stream (see
 *   transport.ts); until then everything it carried is kept. A reset, early close, error or timeout
 *   resends all of it. A flush is sent as pieces (one connection each) of at most 8 MiB and half the
 *   bound, so what is kept for a resend fits in the bound.
 * - A connection that fails after carrying more than one line is retried at once with a piece half
 *   the size it carried, and pieces double again with each confirmed one: a peer that resets part-way
 *   (a relay that cuts connections, a receiver that dies while reading) still gets every line, a few
 *   at a time if it must. Any other failure is retried after a capped exponential backoff
 *   (250 ms → 10 s by default); the backoff resets on the first success.
 * - The queue is bounded in bytes (default 64 MiB): unsent bytes of queued flushes plus what the
 *   connection in flight carried and is kept for a resend. Past the bound, the oldest kept bytes are
 *   let go first (lost only if that connection then fails: counted then), then the OLDEST queued flushes
 *   are dropped. Both are counted (dropped_flushes, dropped_lines). The unsent part of the flush in
 *   flight (at most the formatter's high water) is outside the bound until it fails.
 * - Logs: one WARN when an outage starts, one WARN when part-way failures make pieces smaller (INFO
 *   when whole flushes go again), one ERROR the first time it drops data, one INFO when an outage ends
 *   (with what was replayed and dropped): never one line per flush.
 * - stop(deadline): keeps trying until the queue is empty or the deadline passes; what is left is
 *   reported once at ERROR.
 *
 * This file holds the flushes and drives the connections; the stats, the outage, the backoff, the
 * piece size and the drop logs are ./queue-health.ts.
 */
import type { Logger } from 'pino';
import type { BackendState } from '../types.js';
import type { OutgoingFlush } from './outgoing.js';
import { DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS, DeliveryHealth, type DeliveryStats } from './queue-health.js';
import { GraphiteAbortError, type SendFn } from './transport.js';

export { DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS, type DeliveryStats, MAX_PIECE_BYTES } from './queue-health.js';

/** A queued flush: its chunks may still be arriving from the formatter (see outgoing.ts). */
export type QueueEntry = OutgoingFlush;

export interface DeliveryQueueOptions {
  readonly send: SendFn;
  readonly log: Logger;
  /** Bytes of undelivered flushes kept (graphite.queueBytes). */
  readonly maxBytes: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** ms clock (for last_flush / last_exception). */
  readonly now?: () => number;
  /** Initial last_flush (the original: startup time) and last_exception (observed: 0). */
  readonly lastFlush: number;
  readonly lastException: number;
}

export class DeliveryQueue {
  private readonly send: SendFn;
  private readonly maxBytes: number;
  private readonly health: DeliveryHealth;

  private entries: QueueEntry[] = [];
  /**
   * Bytes waiting in `entries` (the payload in flight is not counted: memory is bounded by
   * maxBytes plus one payload; if it fails it re-enters at the head and is the first to go).
   */
  private bytes = 0;
  private inFlight: QueueEntry | null = null;
  private inFlightAbort: AbortController | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** ms spent on the pieces of the flush in flight. */
  private flightMs = 0;

  readonly stats: DeliveryStats;

  constructor(opts: DeliveryQueueOptions) {
    this.send = opts.send;
    this.maxBytes = opts.maxBytes;
    this.health = new DeliveryHealth(
      opts.log,
      opts.now ?? Date.now,
      opts.maxBytes,
      opts.backoffMinMs ?? DEFAULT_BACKOFF_MIN_MS,
      opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
      opts.lastFlush,
      opts.lastException,
    );
    this.stats = this.health.stats;
  }

  /** Where delivery stands: connected, replaying, the last error (the status page). */
  state(): BackendState {
    return this.health.state();
  }

  /**
   * Appends one flush (never blocks, never throws), possibly before its formatter is done: its bytes
   * count against the bound as they arrive. Ignored after stop().
   */
  push(entry: QueueEntry): void {
    if (this.closed) return;
    this.entries.push(entry);
    this.bytes += entry.unsentBytes;
    entry.onGrow = (n) => {
      if (this.inFlight !== entry && !this.closed) {
        this.bytes += n;
        this.enforceBound();
      }
      this.updateGauges();
    };
    entry.onHeld = () => {
      if (this.inFlight === entry && !this.closed) this.enforceBound();
    };
    this.enforceBound();
    this.updateGauges();
    this.pump();
  }

  /** True when nothing is queued or in flight. */
  get idle(): boolean {
    return this.inFlight === null && this.entries.length === 0;
  }

  /** Resolves when the queue is empty (or at once when it is). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  /**
   * Tries to deliver everything within `deadlineMs` (retrying with backoff, capped by the deadline),
   * then gives up: the in-flight attempt is aborted and what is left is counted as lost.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    if (!this.idle && deadlineMs > 0) {
      // Do not sit out a long backoff: retry now, then keep the normal backoff until the deadline.
      if (this.retryTimer !== null) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.pump();
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.whenIdle(),
        new Promise<void>((res) => {
          timer = setTimeout(res, deadlineMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.inFlightAbort?.abort();
    let lostFlushes = this.entries.length;
    let lostLines = 0;
    for (const e of this.entries) lostLines += e.lines;
    if (this.inFlight !== null) {
      lostFlushes++;
      lostLines += this.inFlight.lines;
    }
    this.health.lostAtStop(lostFlushes, lostLines, deadlineMs);
    for (const e of this.entries) e.release();
    this.inFlight?.release();
    this.entries = [];
    this.inFlight = null;
    this.bytes = 0;
    this.updateGauges();
    this.notifyIdle();
  }

  private pump(): void {
    if (this.closed || this.inFlight !== null || this.retryTimer !== null) return;
    const entry = this.entries.shift();
    if (entry === undefined) {
      this.notifyIdle();
      return;
    }
    this.inFlight = entry;
    this.bytes -= entry.unsentBytes;
    this.flightMs = 0;
    entry.sending = true;
    this.sendPiece(entry);
  }

  /** One connection carrying the next piece of the flush in flight. */
  private sendPiece(entry: QueueEntry): void {
    const ac = new AbortController();
    this.inFlightAbort = ac;
    let p: Promise<number>;
    try {
      p = this.send(entry, ac.signal, this.health.pieceBytes());
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (ms) => this.onSuccess(entry, ms),
      (err: unknown) => this.onFailure(entry, err),
    );
  }

  private onSuccess(entry: QueueEntry, ms: number): void {
    if (this.inFlight !== entry) return; // stop() gave up on it meanwhile
    entry.confirm();
    this.flightMs += ms;
    this.health.confirmed();
    if (!entry.drained) {
      // more of this flush (a piece limit was reached): the next connection, at once
      this.updateGauges();
      this.sendPiece(entry);
      return;
    }
    this.inFlight = null;
    this.inFlightAbort = null;
    this.health.delivered(this.flightMs, entry.totalBytes, this.entries.length + 1);
    entry.stoppedSending();
    entry.release();
    this.updateGauges();
    this.pump();
  }

  private onFailure(entry: QueueEntry, err: unknown): void {
    if (this.inFlight !== entry) return;
    this.inFlight = null;
    this.inFlightAbort = null;
    entry.stoppedSending();
    if (this.closed || err instanceof GraphiteAbortError) return;
    this.health.failed(err);
    // lines this connection carried that the bound had let go: they cannot be resent
    const lost = entry.lostRecords;
    entry.lostRecords = 0;
    if (lost > 0)
      this.health.countDrop(
        1,
        lost,
        'graphite: a connection failed after its oldest bytes were let go (queue bound): those lines cannot be resent',
      );
    // Back to the head: it is still the oldest.
    this.entries.unshift(entry);
    this.bytes += entry.unsentBytes;
    this.enforceBound();
    this.updateGauges();
    // a part-way failure of more than one line: resend at once, in a piece half the size; else an outage, with backoff
    const delay =
      entry.failedMany && entry.failedBytes > 0
        ? this.health.failedPartWay(err, entry.failedBytes)
        : this.health.failedOutage(err, this.entries.length, this.bytes);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Keeps the held bytes within the bound: first lets go of the oldest bytes the connection in flight
   * carried (lost only if it then fails), then drops the oldest queued flushes.
   */
  private enforceBound(): void {
    const f = this.inFlight;
    if (f !== null) {
      while (this.bytes + f.writtenBytes > this.maxBytes) if (f.releaseOldestWritten() === 0) break;
    }
    let flushes = 0;
    let lines = 0;
    // The newest flush is always kept, even when it alone is over the bound: the bound limits the
    // backlog of an outage, it must not refuse a large flush to a healthy Graphite.
    while (this.bytes > this.maxBytes && this.entries.length > 1) {
      const e = this.entries.shift()!;
      this.bytes -= e.unsentBytes;
      e.onGrow = null;
      e.onHeld = null;
      e.release();
      flushes++;
      lines += e.lines;
    }
    if (flushes > 0) this.health.countDrop(flushes, lines, 'graphite queue full: dropping the oldest flushes (logged once per outage)');
  }

  private updateGauges(): void {
    const f = this.inFlight;
    this.stats.queuedBytes = this.bytes + (f === null ? 0 : f.unsentBytes + f.writtenBytes);
    this.stats.queuedFlushes = this.entries.length + (this.inFlight === null ? 0 : 1);
  }

  private notifyIdle(): void {
    if (!this.idle) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
