/**
 * The packet guard: nothing on the packet path throws out of a listener's handler. One try/catch
 * around each packet (a batch of lines; never one per line): when something throws (a store, a
 * backend's packet hook, a bug), the line being handled is counted as a bad line (`internal_error`),
 * the fault is logged (rate-limited, ERROR: a line was lost), and the packet's other lines are parsed
 * again from the line after it. Lines handled before the fault are not handled twice.
 */
import type { Logger } from 'pino';
import { LogLimiter } from '../log/ratelimit.js';
import { parsePacket } from '../parser/index.js';
import { BadLine, type Sample, type SampleSink } from '../parser/types.js';

/** What the guard feeds: the aggregator (or a cluster worker's). */
export interface IngestSink extends SampleSink {
  countPacket(lines: number): void;
  /** Start of the line last given to badLine; the guard sets it to -1 before each packet. */
  lastBadLineStart: number;
}

const LF = 0x0a;
const CR = 0x0d;
/** How often a fault is logged at most (the count is exact: bad_lines_seen, reason internal_error). */
const FAULT_LOG_MS = 10_000;

export class PacketGuard {
  /** Faults caught since start. */
  faults = 0;
  private readonly limiter: LogLimiter;

  constructor(
    private readonly sink: IngestSink,
    private readonly sample: Sample,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.limiter = new LogLimiter(FAULT_LOG_MS, now);
  }

  /** Call first for each packet: forgets where the previous one stopped (two stores). */
  begin(): void {
    this.sample.keyStart = -1;
    this.sink.lastBadLineStart = -1;
  }

  /** Parse and count one packet (after {@link begin}). */
  ingest(buf: Buffer, start: number, end: number): void {
    this.sink.countPacket(parsePacket(buf, start, end, this.sink, this.sample));
  }

  /**
   * After anything run for this packet since {@link begin} threw `err`: counts the line it was handling
   * (if parsing had started) as bad, parses the rest of the packet (guarded again), counts the packet.
   */
  recover(err: unknown, buf: Buffer, start: number, end: number): void {
    this.fault(err);
    const sink = this.sink;
    let from = start;
    let first = true;
    while (from < end) {
      const at = this.faultLine(buf, from, end);
      if (at >= 0) {
        let nl = buf.indexOf(LF, at);
        if (nl < 0 || nl >= end) nl = end;
        this.safeBadLine(buf, at, nl > at && buf[nl - 1] === CR ? nl - 1 : nl);
        from = nl + 1;
      } else if (!first) {
        break; // a fault before any line (again): give up on this packet rather than loop
      }
      first = false;
      if (from >= end) break;
      try {
        this.begin();
        parsePacket(buf, from, end, sink, this.sample);
        from = end;
      } catch (again) {
        this.fault(again);
      }
    }
    try {
      sink.countPacket(countLines(buf, start, end));
    } catch (again) {
      this.fault(again);
    }
  }

  /** The start of the line being handled when the fault happened, within [from, end); -1 if none was. */
  private faultLine(buf: Buffer, from: number, end: number): number {
    let at = -1;
    const s = this.sample;
    if (s.buf === buf && s.keyStart >= from && s.keyStart < end) at = s.keyStart;
    const b = this.sink.lastBadLineStart;
    if (b >= from && b < end && b > at) at = b;
    return at;
  }

  private safeBadLine(buf: Buffer, lineStart: number, lineEnd: number): void {
    try {
      this.sink.badLine(BadLine.InternalError, buf, lineStart, lineEnd);
    } catch (again) {
      this.fault(again);
    }
  }

  private fault(err: unknown): void {
    this.faults++;
    if (!this.limiter.take()) return;
    try {
      this.log.error(
        { err, faults: this.faults, suppressed: this.limiter.suppressedSince() },
        "a line could not be processed (a fault in tallyd): counted as a bad line (internal_error); the packet's other lines are kept",
      );
    } catch {
      // (nothing left to do: the count is kept)
    }
  }
}

/** Non-empty lines of `buf[start, end)` (what parsePacket returns; here only after a fault). */
function countLines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  let ls = start;
  while (ls < end) {
    let nl = buf.indexOf(LF, ls);
    if (nl < 0 || nl > end) nl = end;
    let le = nl;
    if (le > ls && buf[le - 1] === CR) le--;
    if (le > ls) n++;
    ls = nl + 1;
  }
  return n;
}
