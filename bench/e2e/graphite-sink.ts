/**
 * A Graphite plaintext listener for the bench. The daemon opens one TCP connection per flush (several
 * for a flush over 8 MiB, one per piece); each flush becomes a FlushRecord with its arrival times. Payloads are kept as raw chunks and parsed only when
 * asked (after the load has stopped), so that reading a 150 MB flush never takes CPU from the
 * daemon under test while it is being measured.
 */
import net from 'node:net';
import { sleep } from './proc.js';

export interface PrefixTotals {
  /** Distinct counter keys `stats_counts.<prefix>.c*` seen in the flush. */
  counterKeys: number;
  /** Sum of their values: the counter lines the daemon received. */
  counterSum: number;
  /** Distinct timer keys (`stats.timers.<prefix>.*.count` lines). */
  timerKeys: number;
  /** Sum of those `.count` values: the timer values the daemon received (sample rate 1). */
  timerCountSum: number;
  /** Timer keys whose count exceeds {@link RESERVOIR_SIZE}: past their reservoir in that interval. */
  timerKeysPastReservoir: number;
}

/** The daemon's reservoirSize in the bench (the default): a timer with more values in an interval overflowed it. */
export const RESERVOIR_SIZE = 1024;

export interface ParsedFlush {
  lines: number;
  /** The Graphite timestamp of the flush (unix seconds; the first line's). */
  ts: number;
  byPrefix: Map<string, PrefixTotals>;
  /** The daemon's own lines: `stats.statsd.*`, `stats_counts.statsd.*`, `statsd.numStats`. */
  internal: Map<string, number>;
}

export interface FlushRecord {
  /** Date.now() when the connection was accepted, when its first byte and its end arrived. */
  acceptedAt: number;
  firstByteAt: number;
  endAt: number;
  bytes: number;
  ended: boolean;
  chunks: Buffer[];
  parsed: ParsedFlush | null;
  /** The first line's timestamp (NaN when the first read held no whole line). */
  ts: number;
  /** Connections that carried it. */
  pieces: number;
}

/** A flush's next piece (connection) comes within this many ms of the previous one's end. */
const PIECE_GAP_MS = 1000;

function firstTimestamp(d: Buffer): number {
  const nl = d.indexOf(0x0a);
  if (nl < 0) return Number.NaN;
  const sp = d.lastIndexOf(0x20, nl);
  return sp < 0 ? Number.NaN : Number(d.toString('latin1', sp + 1, nl));
}

const STATS_COUNTS = 'stats_counts.';
const STATS_TIMERS = 'stats.timers.';

function totalsFor(m: Map<string, PrefixTotals>, prefix: string): PrefixTotals {
  let t = m.get(prefix);
  if (t === undefined) m.set(prefix, (t = { counterKeys: 0, counterSum: 0, timerKeys: 0, timerCountSum: 0, timerKeysPastReservoir: 0 }));
  return t;
}

function parseLine(line: string, out: ParsedFlush): void {
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 <= 0) return;
  const path = line.slice(0, sp1);
  const value = Number(line.slice(sp1 + 1, sp2));
  if (out.lines++ === 0) out.ts = Number(line.slice(sp2 + 1));
  if (path.startsWith(STATS_COUNTS)) {
    const dot = path.indexOf('.', STATS_COUNTS.length);
    if (dot < 0) return;
    const prefix = path.slice(STATS_COUNTS.length, dot);
    if (prefix === 'statsd') out.internal.set(path, value);
    else if (path.charCodeAt(dot + 1) === 0x63 /* c */) {
      const t = totalsFor(out.byPrefix, prefix);
      t.counterKeys++;
      t.counterSum += value;
    }
  } else if (path.startsWith(STATS_TIMERS)) {
    if (!path.endsWith('.count')) return;
    const dot = path.indexOf('.', STATS_TIMERS.length);
    if (dot > 0) {
      const t = totalsFor(out.byPrefix, path.slice(STATS_TIMERS.length, dot));
      t.timerKeys++;
      t.timerCountSum += value;
      if (value > RESERVOIR_SIZE) t.timerKeysPastReservoir++;
    }
  } else if (path.startsWith('stats.statsd.') || path.endsWith('statsd.numStats')) {
    out.internal.set(path, value);
  }
}

export function parsePayload(chunks: readonly Buffer[]): ParsedFlush {
  const out: ParsedFlush = { lines: 0, ts: 0, byPrefix: new Map(), internal: new Map() };
  let carry = '';
  for (const chunk of chunks) {
    const text = carry + chunk.toString('latin1');
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      parseLine(text.slice(start, nl), out);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    carry = text.slice(start);
  }
  if (carry.length > 0) parseLine(carry, out);
  return out;
}

export class GraphiteSink {
  readonly flushes: FlushRecord[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor() {
    this.server = net.createServer((s) => {
      const acceptedAt = Date.now();
      let rec: FlushRecord | null = null;
      this.sockets.add(s);
      s.on('data', (d: Buffer) => {
        if (rec === null) {
          // tallyd sends a large flush as several connections (pieces of at most 8 MiB, each confirmed
          // before the next): one that follows at once, with the same timestamp, continues the record
          const ts = firstTimestamp(d);
          const prev = this.flushes[this.flushes.length - 1];
          if (prev?.ended && prev.ts === ts && acceptedAt - prev.endAt < PIECE_GAP_MS) {
            rec = prev;
            rec.ended = false;
            rec.pieces++;
          } else {
            rec = { acceptedAt, firstByteAt: Date.now(), endAt: 0, bytes: 0, ended: false, chunks: [], parsed: null, ts, pieces: 1 };
            this.flushes.push(rec);
          }
        }
        rec.bytes += d.length;
        rec.chunks.push(d);
      });
      const finish = (): void => {
        this.sockets.delete(s);
        if (rec === null || rec.ended) return;
        rec.ended = true;
        rec.endAt = Date.now();
      };
      s.on('end', finish);
      s.on('close', finish);
      s.on('error', () => undefined);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(0, '127.0.0.1', () => res());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  /** Parse (once) and release the raw bytes of a finished flush. */
  parse(rec: FlushRecord): ParsedFlush {
    if (rec.parsed === null) {
      rec.parsed = parsePayload(rec.chunks);
      rec.chunks = [];
    }
    return rec.parsed;
  }

  /** Totals for one key prefix over every finished flush so far. */
  totals(prefix: string): PrefixTotals {
    const sum: PrefixTotals = { counterKeys: 0, counterSum: 0, timerKeys: 0, timerCountSum: 0, timerKeysPastReservoir: 0 };
    for (const f of this.flushes) {
      if (!f.ended) continue;
      const t = this.parse(f).byPrefix.get(prefix);
      if (t === undefined) continue;
      sum.counterKeys = Math.max(sum.counterKeys, t.counterKeys);
      sum.timerKeys = Math.max(sum.timerKeys, t.timerKeys);
      sum.counterSum += t.counterSum;
      sum.timerCountSum += t.timerCountSum;
      sum.timerKeysPastReservoir = Math.max(sum.timerKeysPastReservoir, t.timerKeysPastReservoir);
    }
    return sum;
  }

  /**
   * Wait until `count` flushes accepted at or after `since` (Date.now() ms) have ended; returns
   * them. Rejects after `timeoutMs`.
   */
  async waitForFlushes(count: number, since: number, timeoutMs: number): Promise<FlushRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // a record is done once no further piece can continue it
      const now = Date.now();
      const done = this.flushes.filter((f) => f.acceptedAt >= since && f.ended && now - f.endAt >= PIECE_GAP_MS);
      if (done.length >= count) return done.slice(0, count);
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} Graphite flush(es) (got ${done.length})`);
      }
      await sleep(20);
    }
  }

  /** Drop parsed summaries and chunks of flushes before the last `keep` (bounded memory over long runs). */
  forgetOld(keep = 0): void {
    if (this.flushes.length > keep) this.flushes.splice(0, this.flushes.length - keep);
  }
}
