/**
 * How Graphite delivery is going, for the queue (./queue.ts): its stats, the outage in course, the
 * retry backoff, the piece size after part-way failures, and the drops, each logged once per outage.
 * The queue holds the flushes and drives the connections; this holds what it learned from them.
 */
import type { Logger } from 'pino';
import { errorText } from '../error-text.js';
import type { BackendState } from '../types.js';
import { CHUNK_BYTES } from './outgoing.js';

export const DEFAULT_BACKOFF_MIN_MS = 250;
export const DEFAULT_BACKOFF_MAX_MS = 10_000;
/**
 * Largest piece (bytes one connection carries). What a connection carried is kept until the peer
 * confirms it: 8 MiB keeps memory as it was with the former 8 MiB replay tail, and costs a 150 MB
 * flush ~19 connections (each waits for the peer to read to the end: a few ms on a LAN).
 */
export const MAX_PIECE_BYTES = 8 * CHUNK_BYTES;

export interface DeliveryStats {
  /** Unix s of the last successful delivery. */
  lastFlush: number;
  /** Unix s of the last failed attempt. */
  lastException: number;
  /** ms spent writing the last delivered payload. */
  flushTime: number;
  /** Bytes of the last delivered payload. */
  flushLength: number;
  queuedBytes: number;
  queuedFlushes: number;
  droppedFlushes: number;
  droppedLines: number;
  /** Failed attempts since start. */
  failures: number;
  /** Largest piece a connection carries now (bytes; Infinity: whole flushes up to half the bound). */
  pieceLimit: number;
  delivered: number;
}

export class DeliveryHealth {
  readonly stats: DeliveryStats;
  private backoff = 0;
  /** Set while an outage lasts (first failure → next success). */
  private outage: { since: number; failures: number; droppedFlushes: number; droppedLines: number } | null = null;
  /** A drop was logged since the last successful delivery (drops are logged once per outage). */
  private dropLogged = false;
  /** Largest piece per connection: 8 MiB, at most half the bound (what is kept for a resend then fits in it). */
  private readonly pieceCap: number;
  /** Current piece limit (smaller after part-way failures, doubled by each confirmed piece). */
  private pieceLimit = Number.POSITIVE_INFINITY;
  /** The last attempt's outcome (null: none yet), and the last failure's text and time (ms). */
  private connected: boolean | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  /** Flushes queued behind an outage are being re-sent (from its end until the queue is empty again). */
  private replaying = false;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    /** The queue's bound (graphite.queueBytes). */
    private readonly maxBytes: number,
    private readonly backoffMin: number,
    private readonly backoffMax: number,
    lastFlush: number,
    lastException: number,
  ) {
    this.stats = {
      lastFlush,
      lastException,
      flushTime: 0,
      flushLength: 0,
      queuedBytes: 0,
      queuedFlushes: 0,
      droppedFlushes: 0,
      droppedLines: 0,
      failures: 0,
      pieceLimit: Number.POSITIVE_INFINITY,
      delivered: 0,
    };
    this.pieceCap = Math.max(CHUNK_BYTES, Math.min(MAX_PIECE_BYTES, Math.floor(this.maxBytes / 2)));
  }

  /** Bytes the next connection may carry. */
  pieceBytes(): number {
    return Math.min(this.pieceLimit, this.pieceCap);
  }

  /** Where delivery stands (the status page). */
  state(): BackendState {
    return { connected: this.connected, replaying: this.replaying, lastError: this.lastError, lastErrorAt: this.lastErrorAt };
  }

  /** A connection was confirmed: the backoff resets, pieces double (whole flushes again past the cap). */
  confirmed(): void {
    this.backoff = 0;
    this.connected = true;
    // (while pieces are small, a peer that keeps cutting connections would make this once per flush)
    if (this.pieceLimit === Number.POSITIVE_INFINITY) this.dropLogged = false;
    if (this.pieceLimit !== Number.POSITIVE_INFINITY) {
      this.pieceLimit *= 2;
      if (this.pieceLimit >= this.pieceCap) {
        this.pieceLimit = Number.POSITIVE_INFINITY;
        this.dropLogged = false;
        this.log.info('graphite: connections are confirmed again, flushes go whole again');
      }
      this.stats.pieceLimit = this.pieceLimit;
    }
  }

  /** A flush was delivered whole (`toReplay`: flushes queued behind it); ends the outage, if any. */
  delivered(flightMs: number, totalBytes: number, toReplay: number): void {
    const s = this.stats;
    s.lastFlush = Math.round(this.now() / 1000);
    s.flushTime = flightMs;
    s.flushLength = totalBytes;
    s.delivered++;
    // (toReplay counts this flush too: more than one, and some are still queued behind it)
    this.replaying = (this.replaying || this.outage !== null) && toReplay > 1;
    if (this.outage !== null) {
      const o = this.outage;
      this.outage = null;
      this.log.info(
        {
          outageMs: this.now() - o.since,
          failedAttempts: o.failures,
          toReplay,
          droppedFlushes: o.droppedFlushes,
          droppedLines: o.droppedLines,
        },
        'graphite is reachable again: replaying queued flushes in order',
      );
    }
  }

  /** A connection failed (not aborted by stop) with `err`. */
  failed(err: unknown): void {
    this.stats.failures++;
    const now = this.now();
    this.stats.lastException = Math.round(now / 1000);
    this.lastError = errorText(err);
    this.lastErrorAt = now;
  }

  /** It failed part-way, after `carriedBytes` of more than one line: resend at once, in a piece half the size. Returns the delay, ms. */
  failedPartWay(err: unknown, carriedBytes: number): number {
    const was = this.pieceLimit;
    this.pieceLimit = Math.max(1, Math.floor(carriedBytes / 2));
    this.stats.pieceLimit = this.pieceLimit;
    if (was === Number.POSITIVE_INFINITY) {
      this.log.warn(
        { err, carriedBytes, pieceLimit: this.pieceLimit },
        'graphite: a connection failed part-way (reset, early close or no orderly close in time): resending what it carried, in smaller pieces',
      );
    }
    return 0;
  }

  /** Any other failure: an outage (logged when it starts); returns the backoff delay before the retry, ms. */
  failedOutage(err: unknown, queuedFlushes: number, queuedBytes: number): number {
    this.connected = false;
    this.replaying = false;
    if (this.outage === null) {
      this.outage = { since: this.now(), failures: 0, droppedFlushes: 0, droppedLines: 0 };
      this.log.warn({ err, queuedFlushes, queuedBytes }, 'graphite delivery failed: queueing flushes and retrying with backoff');
    }
    this.outage.failures++;
    this.backoff = this.backoff === 0 ? this.backoffMin : Math.min(this.backoff * 2, this.backoffMax);
    return this.backoff;
  }

  /** Counts lost flushes and lines, logged once per outage. */
  countDrop(flushes: number, lines: number, msg: string): void {
    this.stats.droppedFlushes += flushes;
    this.stats.droppedLines += lines;
    const o = this.outage;
    if (o !== null) {
      o.droppedFlushes += flushes;
      o.droppedLines += lines;
    }
    if (!this.dropLogged) {
      this.dropLogged = true;
      this.log.error({ droppedFlushes: flushes, droppedLines: lines, maxBytes: this.maxBytes }, msg);
    }
  }

  /** What stop() gave up on (logged at ERROR when anything was). */
  lostAtStop(lostFlushes: number, lostLines: number, deadlineMs: number): void {
    if (lostFlushes === 0) return;
    this.stats.droppedFlushes += lostFlushes;
    this.stats.droppedLines += lostLines;
    this.log.error({ lostFlushes, lostLines, deadlineMs }, 'graphite: stopping with undelivered flushes, they are lost');
  }
}
