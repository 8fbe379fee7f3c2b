/**
 * One Graphite flush on its way out, as a stream of record-aligned chunks (records are lines for the
 * plaintext protocol; see {@link Framing} for another protocol's frames).
 *
 * The formatter appends chunks while the delivery queue may already be writing the first ones to
 * Graphite: a flush of a million keys (~150 MB of text) never exists whole in memory when Graphite
 * keeps up, and the chunks are reused from a small pool, so their pages are already resident (writing
 * into fresh chunks measured ~0.3 ms per MiB more: row 5 of `node dist/bench/claims.bench.js`).
 *
 * - Chunks end at record boundaries: a delivery that fails part-way resumes at a record, and a piece
 *   (what one connection carries, see {@link OutgoingFlush.nextChunk}) ends at one.
 * - The producer (formatter) waits in {@link OutgoingFlush.room} while more than `highWater` bytes are
 *   waiting and the flush is being sent; when it is not (queued behind others, or Graphite is down) it
 *   does not wait, and the queue's byte bound applies.
 * - Written chunks are kept (`written`) until the connection that carried them is confirmed
 *   ({@link OutgoingFlush.confirm}); after a failure they are sent again ({@link OutgoingFlush.rewind}),
 *   so what sat in socket buffers, or in a peer that reset, is not lost (a replayed line carries its
 *   original timestamp: Graphite stores the same point again). The queue bounds them by bytes: past
 *   its bound the oldest are let go ({@link OutgoingFlush.releaseOldestWritten}) and, should that
 *   connection then fail, their records are counted as lost.
 */

/** Where records end, so that pieces and replays never cut one. Generic over the payload's protocol. */
export interface Framing {
  /**
   * The largest record boundary in `chunk` at or below `max` bytes, or the end of its first record
   * when even that is longer than `max` (so a piece always carries at least one record); > 0.
   */
  cut(chunk: Buffer, max: number): number;
  /** Records in `chunk` (a chunk is record-aligned). */
  count(chunk: Buffer): number;
  /** True when `chunk` holds more than one record. */
  many(chunk: Buffer): boolean;
}

/** Plaintext: records are `\n`-terminated lines. */
export const LINE_FRAMING: Framing = {
  cut(chunk: Buffer, max: number): number {
    if (max >= chunk.length) return chunk.length;
    const nl = max > 0 ? chunk.lastIndexOf(0x0a, max - 1) : -1;
    if (nl >= 0) return nl + 1;
    const first = chunk.indexOf(0x0a);
    return first < 0 ? chunk.length : first + 1;
  },
  count(chunk: Buffer): number {
    let n = 0;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) n++;
    return n;
  },
  many(chunk: Buffer): boolean {
    const nl = chunk.indexOf(0x0a);
    return nl >= 0 && nl < chunk.length - 1;
  },
};

/** Size of one pooled chunk. */
export const CHUNK_BYTES = 1 << 20;
/** Unsent bytes above which the producer waits for the sender (while being sent). */
export const DEFAULT_HIGH_WATER = 4 * CHUNK_BYTES;

/** Free chunks, reused across flushes (bounded: what exceeds `maxFree` is left to the GC). */
export class ChunkPool {
  private readonly free: ArrayBuffer[] = [];
  /** Chunks allocated since start (for tests and benches). */
  allocated = 0;

  constructor(private readonly maxFree: number = 16) {}

  /** A whole chunk (CHUNK_BYTES), or a dedicated buffer of `min` bytes when that is larger. */
  take(min = 0): Buffer {
    if (min > CHUNK_BYTES) return Buffer.allocUnsafeSlow(min);
    const ab = this.free.pop();
    if (ab !== undefined) return Buffer.from(ab);
    this.allocated++;
    return Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }

  /** Gives back the chunk a view was cut from (views of other buffers are ignored). */
  give(view: Buffer): void {
    const ab = view.buffer;
    if (ab.byteLength !== CHUNK_BYTES || this.free.length >= this.maxFree || !(ab instanceof ArrayBuffer)) return;
    this.free.push(ab);
  }

  get freeChunks(): number {
    return this.free.length;
  }
}

const NO_POOL = new ChunkPool(0);

export interface OutgoingOptions {
  readonly timestamp: number;
  readonly pool?: ChunkPool;
  readonly highWater?: number;
  /** Record boundaries (default: lines). */
  readonly framing?: Framing;
}

export class OutgoingFlush {
  /** Unix seconds the lines carry. */
  readonly timestamp: number;
  /** Lines in the whole flush (final once {@link complete}). */
  lines = 0;
  /** All the producer appended. */
  totalBytes = 0;
  /** Bytes appended and not yet written (what the queue's bound counts). */
  unsentBytes = 0;
  /** The producer is done: no chunk will be appended. */
  complete = false;
  /** A sender is writing it (set by the queue). */
  sending = false;

  private readonly pool: ChunkPool;
  private readonly highWater: number;
  private readonly framing: Framing;
  private readonly unsent: Buffer[] = [];
  private unsentHead = 0;
  /** Written on the current connection, not yet confirmed (oldest first, from `writtenHead`). */
  private written: Buffer[] = [];
  private writtenHead = 0;
  /** Bytes written on the current connection and still kept for a replay. */
  writtenBytes = 0;
  /** Bytes taken for the current connection (its piece), kept or not. */
  attemptBytes = 0;
  /** The current piece holds more than one record. */
  private attemptMany = false;
  /** The current piece reached its byte limit (the sender ends the connection). */
  pieceFull = false;
  /** Records written on the current connection that were let go unconfirmed (lost if it fails). */
  private unprotected = 0;
  /** What the last failed connection carried: bytes, more than one record, records lost with it. */
  failedBytes = 0;
  failedMany = false;
  lostRecords = 0;
  /** Told that the written (kept) bytes grew (the queue's bound). */
  onHeld: (() => void) | null = null;
  private dataWaiter: (() => void) | null = null;
  private roomWaiter: (() => void) | null = null;
  /** Told how much the unsent bytes grew (the queue's bound). */
  onGrow: ((bytes: number) => void) | null = null;

  constructor(o: OutgoingOptions) {
    this.timestamp = o.timestamp;
    this.pool = o.pool ?? NO_POOL;
    this.highWater = o.highWater ?? DEFAULT_HIGH_WATER;
    this.framing = o.framing ?? LINE_FRAMING;
  }

  /** A complete flush holding `bytes` (tests, replays of a finished payload). */
  static of(bytes: Buffer, lines: number, timestamp: number): OutgoingFlush {
    const f = new OutgoingFlush({ timestamp });
    if (bytes.length > 0) f.append(bytes);
    f.end(lines);
    return f;
  }

  // ------------------------------------------------------------ producer side

  /** Appends one line-aligned chunk (a view; its backing chunk returns to the pool once written). */
  append(chunk: Buffer): void {
    if (this.complete) throw new Error('OutgoingFlush: append after end');
    this.unsent.push(chunk);
    this.unsentBytes += chunk.length;
    this.totalBytes += chunk.length;
    this.onGrow?.(chunk.length);
    this.wakeData();
  }

  /** No more chunks; `lines` is the flush's line count. */
  end(lines: number): void {
    this.lines = lines;
    this.complete = true;
    this.wakeData();
  }

  /** True when the producer should wait for the sender before appending more. */
  get full(): boolean {
    return this.sending && this.unsentBytes > this.highWater;
  }

  /** Resolves once there is room again (or the flush stops being sent). */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  // ------------------------------------------------------------ sender side

  /**
   * The next chunk to write on the current connection, or null when none is waiting (see
   * {@link whenData}) or the piece is full ({@link pieceFull}): a connection carries at most `limit`
   * bytes, cut at a record boundary, and always at least one record.
   */
  nextChunk(limit = Infinity): Buffer | null {
    if (this.pieceFull || this.unsentHead >= this.unsent.length) return null;
    let c = this.unsent[this.unsentHead]!;
    const room = limit - this.attemptBytes;
    let take = c.length;
    if (take > room) {
      // a piece ends at a chunk boundary when it is well filled, else inside the chunk, at a record
      if (this.attemptBytes > 0 && (this.attemptBytes >= limit / 2 || room <= 0)) {
        this.pieceFull = true;
        return null;
      }
      take = this.framing.cut(c, room);
      this.pieceFull = true;
    }
    if (take < c.length) {
      // the part sent now is a copy: the rest stays a view of the pooled chunk, given back once
      const head = Buffer.from(c.subarray(0, take));
      this.unsent[this.unsentHead] = c.subarray(take);
      c = head;
    } else {
      this.unsent[this.unsentHead++] = EMPTY;
      if (this.unsentHead > 64 && this.unsentHead * 2 > this.unsent.length) {
        this.unsent.splice(0, this.unsentHead);
        this.unsentHead = 0;
      }
    }
    if (!this.attemptMany) this.attemptMany = this.attemptBytes > 0 || this.framing.many(c);
    this.attemptBytes += c.length;
    return c;
  }

  /** A chunk taken with {@link nextChunk} was handed to the kernel: kept until the connection is confirmed. */
  wrote(chunk: Buffer): void {
    this.unsentBytes -= chunk.length;
    this.written.push(chunk);
    this.writtenBytes += chunk.length;
    this.onHeld?.();
    this.wakeRoom();
  }

  /**
   * The queue's bound is reached: the oldest kept chunk is let go (its records can no longer be
   * resent, and are counted as lost should this connection fail). Returns the bytes freed (0: none kept).
   */
  releaseOldestWritten(): number {
    if (this.writtenHead >= this.written.length) return 0;
    const c = this.written[this.writtenHead]!;
    this.written[this.writtenHead++] = EMPTY;
    this.writtenBytes -= c.length;
    this.unprotected += this.framing.count(c);
    this.pool.give(c);
    return c.length;
  }

  /** The connection that carried the current piece was confirmed: its chunks go back to the pool. */
  confirm(): void {
    for (let i = this.writtenHead; i < this.written.length; i++) this.pool.give(this.written[i]!);
    this.written = [];
    this.writtenHead = 0;
    this.writtenBytes = 0;
    this.attemptBytes = 0;
    this.attemptMany = false;
    this.pieceFull = false;
    this.unprotected = 0;
  }

  /** True when everything appended has been written and the producer is done. */
  get drained(): boolean {
    return this.complete && this.unsentHead >= this.unsent.length;
  }

  /** Resolves when a chunk is appended or the producer ends. */
  whenData(): Promise<void> {
    if (this.unsentHead < this.unsent.length || this.complete) return Promise.resolve();
    return new Promise((resolve) => {
      this.dataWaiter = resolve;
    });
  }

  /**
   * The connection failed: what it carried and still kept, and any chunk taken but not confirmed by the
   * kernel, go back in front of what is unsent. Returns the bytes that re-entered the unsent count;
   * {@link failedBytes}, {@link failedMany} and {@link lostRecords} tell what the connection carried.
   */
  rewind(taken: readonly Buffer[]): number {
    const kept = this.written.slice(this.writtenHead);
    const back = [...kept, ...taken];
    let bytes = 0;
    for (const c of kept) bytes += c.length;
    this.failedBytes = this.attemptBytes;
    this.failedMany = this.attemptMany;
    this.lostRecords = this.unprotected;
    this.written = [];
    this.writtenHead = 0;
    this.writtenBytes = 0;
    this.attemptBytes = 0;
    this.attemptMany = false;
    this.pieceFull = false;
    this.unprotected = 0;
    const rest = this.unsent.slice(this.unsentHead);
    this.unsent.length = 0;
    this.unsent.push(...back, ...rest);
    this.unsentHead = 0;
    this.unsentBytes += bytes;
    this.wakeRoom();
    return bytes;
  }

  /** Delivered (or dropped): every chunk goes back to the pool. */
  release(): void {
    for (let i = this.writtenHead; i < this.written.length; i++) this.pool.give(this.written[i]!);
    for (let i = this.unsentHead; i < this.unsent.length; i++) this.pool.give(this.unsent[i]!);
    this.written = [];
    this.writtenHead = 0;
    this.writtenBytes = 0;
    this.unsent.length = 0;
    this.unsentHead = 0;
    this.unsentBytes = 0;
    this.wakeRoom();
  }

  /** The unsent bytes as one buffer (tests). */
  peekUnsent(): Buffer {
    return Buffer.concat(this.unsent.slice(this.unsentHead));
  }

  private wakeData(): void {
    const w = this.dataWaiter;
    if (w !== null) {
      this.dataWaiter = null;
      w();
    }
  }

  private wakeRoom(): void {
    const w = this.roomWaiter;
    if (w !== null && !this.full) {
      this.roomWaiter = null;
      w();
    }
  }

  /** Called by the queue when sending stops (failure, drop): a waiting producer goes on. */
  stoppedSending(): void {
    this.sending = false;
    this.wakeRoom();
  }
}

const EMPTY = Buffer.alloc(0);
