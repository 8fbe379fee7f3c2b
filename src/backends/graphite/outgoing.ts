/**
 * One Graphite flush on its way out, as a stream of line-aligned chunks.
 *
 * The formatter appends chunks while the delivery queue may already be writing the first ones to
 * Graphite: a flush of a million keys (~150 MB of text) never exists whole in memory when Graphite
 * keeps up, and the chunks are reused from a small pool, so their pages are already resident (touching
 * fresh pages costs ~3 ms per MiB here, more than formatting them).
 *
 * - Chunks end at line boundaries: a delivery that fails part-way resumes at a line.
 * - The producer (formatter) waits in {@link OutgoingFlush.room} while more than `highWater` bytes are
 *   waiting and the flush is being sent; when it is not (queued behind others, or Graphite is down) it
 *   does not wait, and the queue's byte bound applies.
 * - Written chunks stay in a bounded `written` tail (the last `retainBytes`) until the delivery ends:
 *   after a connection failure they are sent again, so what sat in the socket buffers when Graphite
 *   went away is not lost (a replayed line carries its original timestamp: Graphite stores it again).
 */

/** Size of one pooled chunk. */
export const CHUNK_BYTES = 1 << 20;
/** Unsent bytes above which the producer waits for the sender (while being sent). */
export const DEFAULT_HIGH_WATER = 4 * CHUNK_BYTES;
/** Written bytes kept for a replay after a failure (covers loopback/LAN socket buffers). */
export const DEFAULT_RETAIN_BYTES = 8 * CHUNK_BYTES;

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
  readonly retainBytes?: number;
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
  private readonly retainBytes: number;
  private readonly unsent: Buffer[] = [];
  private unsentHead = 0;
  private readonly written: Buffer[] = [];
  private writtenBytes = 0;
  private dataWaiter: (() => void) | null = null;
  private roomWaiter: (() => void) | null = null;
  /** Told how much the unsent bytes grew (the queue's bound). */
  onGrow: ((bytes: number) => void) | null = null;

  constructor(o: OutgoingOptions) {
    this.timestamp = o.timestamp;
    this.pool = o.pool ?? NO_POOL;
    this.highWater = o.highWater ?? DEFAULT_HIGH_WATER;
    this.retainBytes = o.retainBytes ?? DEFAULT_RETAIN_BYTES;
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

  /** The next chunk to write, or null when none is waiting (see {@link whenData}). */
  nextChunk(): Buffer | null {
    if (this.unsentHead >= this.unsent.length) return null;
    const c = this.unsent[this.unsentHead]!;
    this.unsent[this.unsentHead++] = EMPTY;
    if (this.unsentHead > 64 && this.unsentHead * 2 > this.unsent.length) {
      this.unsent.splice(0, this.unsentHead);
      this.unsentHead = 0;
    }
    return c;
  }

  /** A chunk taken with {@link nextChunk} was handed to the kernel: kept in the bounded replay tail. */
  wrote(chunk: Buffer): void {
    this.unsentBytes -= chunk.length;
    this.written.push(chunk);
    this.writtenBytes += chunk.length;
    while (this.writtenBytes > this.retainBytes && this.written.length > 1) {
      const old = this.written.shift()!;
      this.writtenBytes -= old.length;
      this.pool.give(old);
    }
    this.wakeRoom();
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
   * The delivery failed: the replay tail and any chunk taken but not confirmed go back in front of
   * what is unsent. Returns the bytes that re-entered the unsent count.
   */
  rewind(taken: readonly Buffer[]): number {
    const back = [...this.written, ...taken];
    let bytes = 0;
    for (const c of this.written) bytes += c.length;
    this.written.length = 0;
    this.writtenBytes = 0;
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
    for (const c of this.written) this.pool.give(c);
    for (let i = this.unsentHead; i < this.unsent.length; i++) this.pool.give(this.unsent[i]!);
    this.written.length = 0;
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
