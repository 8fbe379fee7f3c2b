/**
 * Packets forwarded from a cluster worker to the primary, for npm backends' `packet(msg, rinfo)`
 * events (`workers` > 1: the plug-ins run in the primary, the packets arrive in the workers).
 *
 * The primary switches it on only while a loaded plug-in has a 'packet' listener
 * (ingest-workers.ts); off, the forwarder is not among the worker's packet hooks at all, so the packet
 * path does no extra work. On, each datagram (each TCP chunk of whole lines, each server module's
 * packet) is copied into one staging buffer with its sender, and the staging buffer goes to the primary
 * as one IPC message per BATCH_WINDOW_MS (or per BATCH_BYTES), not one per packet nor per read batch.
 *
 * Bound: bytes staged plus bytes handed to the IPC channel and not yet written out stay under
 * `workerPacketForwardBytes`; a packet that does not fit is dropped, counted (admin
 * `messages.packets_forward_dropped`) and logged at most once per DROP_LOG_MS.
 *
 * Wire format of a batch: per packet `u32 size, u16 port, u8 family (4, 6, 0: another, 255: no sender),
 * u8 address length`, the address (latin1), then the packet's bytes.
 */
import type { Logger } from 'pino';
import type { PacketSender } from '../listeners/types.js';
import { LogLimiter } from '../log/ratelimit.js';

/** Bytes of a packet's header in a batch (before its address). */
export const HEADER_BYTES = 8;
/** The family byte of a packet that came without a sender (a server module that passes no rinfo). */
const NO_SENDER = 255;
/** At most one WARN about dropped packets per this many ms. */
export const DROP_LOG_MS = 10_000;
/**
 * Packets are sent at most this long after they arrived, in one message per window. Measured reason
 * (bench/ab/pktfwd-ab.mjs, 2 × 10,000 single-line packets/s, bench/RESULTS.md): one message per read
 * batch (setImmediate) cost 4.1 × the daemon's CPU per packet, since at such rates a batch holds one
 * or two packets and each message costs a write, a wake-up and a read; 5 ms windows 2.1 ×, 20 ms 1.6 ×.
 */
export const BATCH_WINDOW_MS = 20;
/** A batch this large goes at once, without waiting for its window's end (bounds a message's size). */
export const BATCH_BYTES = 256 * 1024;
/** Packets up to this size are copied byte by byte in JavaScript, larger ones with Buffer#copy. */
const SHORT_COPY = 64;
/** First size of the staging buffer; it doubles up to the cap as batches grow. */
const INITIAL_STAGING = 64 * 1024;

/** A batch of packets, worker → primary. */
export interface PacketBatch {
  readonly t: 'packets';
  readonly buf: Uint8Array;
  /** Packets in it. */
  readonly n: number;
}

/** How the worker sends (process.send; tests pass their own). `done` runs once the message is written out. */
export type SendBatch = (msg: PacketBatch, done: () => void) => void;

export class PacketForwarder {
  /** Packets dropped past the cap, since the worker started. */
  dropped = 0;
  /** Packets handed to the IPC channel, since the worker started. */
  forwarded = 0;
  private cap: number;
  private staging: Buffer = Buffer.allocUnsafe(INITIAL_STAGING);
  private used = 0;
  private count = 0;
  /** Bytes sent but not yet written out by the IPC channel. */
  private inFlight = 0;
  /** A window is open: its timer is armed (one Timeout, re-armed with refresh(): nothing allocated per window). */
  private scheduled = false;
  private readonly limiter = new LogLimiter(DROP_LOG_MS);
  private readonly timer: NodeJS.Timeout;

  constructor(
    capBytes: number,
    private readonly sendBatch: SendBatch,
    private readonly log: Logger,
  ) {
    this.cap = capBytes;
    this.timer = setTimeout(() => {
      this.scheduled = false;
      this.flush();
    }, BATCH_WINDOW_MS);
    // (it fires once now, finding nothing staged; refresh() re-arms it: a cleared Timeout cannot be)
    this.timer.unref();
  }

  /** A new cap (a reload); what is staged or in flight stays. */
  setCap(capBytes: number): void {
    this.cap = capBytes;
  }

  /** Bytes staged or in flight (for tests and the cap). */
  get pendingBytes(): number {
    return this.used + this.inFlight;
  }

  /** The packet hook: stage one packet and its sender (copied: the reader reuses both). */
  packet(buf: Buffer, start: number, end: number, from?: PacketSender): void {
    const size = end - start;
    let address = from === undefined ? '' : from.address;
    if (address.length > 255) address = ''; // (a server module's own rinfo: not an IP address)
    const need = HEADER_BYTES + address.length + size;
    if (this.used + this.inFlight + need > this.cap) {
      this.drop();
      return;
    }
    if (this.used + need > this.staging.length) this.grow(this.used + need);
    const s = this.staging;
    let o = this.used;
    s.writeUInt32LE(size, o);
    s.writeUInt16LE(from === undefined ? 0 : from.port, o + 4);
    s[o + 6] = from === undefined ? NO_SENDER : from.family === 'IPv6' ? 6 : from.family === 'IPv4' ? 4 : 0;
    s[o + 7] = address.length;
    o += HEADER_BYTES;
    // short runs byte by byte: measured (bench/.build micro-run of packet(), 30-byte packets) 2 × faster
    // than Buffer#write / Buffer#copy, whose native calls cost more than the copy itself
    for (let i = 0; i < address.length; i++) s[o + i] = address.charCodeAt(i);
    o += address.length;
    if (size <= SHORT_COPY) for (let i = 0; i < size; i++) s[o + i] = buf[start + i]!;
    else buf.copy(s, o, start, end);
    this.used = o + size;
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.timer.refresh();
    } else if (this.used >= BATCH_BYTES) {
      // (the window's timer stays armed: it sends what comes after)
      this.flush();
    }
  }

  /** Send what is staged now (also before the worker's final partial, so the primary gets it first). */
  flush(): void {
    if (this.count === 0) return;
    const bytes = this.used;
    this.inFlight += bytes;
    this.forwarded += this.count;
    const msg: PacketBatch = { t: 'packets', buf: this.staging.subarray(0, bytes), n: this.count };
    this.used = 0;
    this.count = 0;
    // (the message is serialised during the call: the staging buffer is free again when it returns)
    this.sendBatch(msg, () => {
      this.inFlight -= bytes;
    });
  }

  /** Drop what is staged (forwarding switched off). */
  clear(): void {
    this.used = 0;
    this.count = 0;
  }

  private drop(): void {
    this.dropped++;
    if (this.limiter.take()) {
      this.log.warn(
        { dropped: this.dropped, suppressed: this.limiter.suppressedSince(), capBytes: this.cap },
        "packets for npm backends' packet events dropped: more than workerPacketForwardBytes queued to the primary (counted in messages.packets_forward_dropped)",
      );
    }
  }

  private grow(min: number): void {
    let size = this.staging.length * 2;
    while (size < min) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.staging.copy(next, 0, 0, this.used);
    this.staging = next;
  }
}

/** A forwarded packet's sender, as PacketSender. */
class BatchSender implements PacketSender {
  address = '';
  family = '';
  port = 0;
}

/**
 * Calls `each` for every packet of a batch, with its bytes as a range of `buf` and its sender (one
 * object, reused: read it during the call). Stops at a truncated record.
 */
export function readPacketBatch(
  buf: Buffer,
  each: (buf: Buffer, start: number, end: number, from: PacketSender | undefined) => void,
): number {
  const from = new BatchSender();
  let o = 0;
  let n = 0;
  while (o + HEADER_BYTES <= buf.length) {
    const size = buf.readUInt32LE(o);
    const port = buf.readUInt16LE(o + 4);
    const fam = buf[o + 6]!;
    const alen = buf[o + 7]!;
    const at = o + HEADER_BYTES + alen;
    if (at + size > buf.length) break;
    const known = fam !== NO_SENDER;
    from.address = alen === 0 ? '' : buf.toString('latin1', o + HEADER_BYTES, at);
    from.family = fam === 6 ? 'IPv6' : fam === 4 ? 'IPv4' : '';
    from.port = port;
    each(buf, at, at + size, known ? from : undefined);
    o = at + size;
    n++;
  }
  return n;
}
