/**
 * Where the Graphite formatter's lines go: plaintext chunks ({@link ChunkOut}) or pickle messages
 * (pickle.ts's PickleChunkOut, the same contract).
 */
import type { ChunkPool, OutgoingFlush } from './outgoing.js';

/**
 * Lines not yet handed to a {@link LineOut} and how many there are: the formatter itself, which the
 * timer and trailer writers (timer-lines.ts, trailer.ts) append to.
 */
export interface LineText {
  s: string;
  lines: number;
}

/**
 * Lines are concatenated into a short string, written into the current chunk every CHUNK_CHARS:
 * about 2x faster than converting 1 Mi-char strings with Buffer.from (flattening long ropes is costly;
 * row 3 of `node dist/bench/flush-format.bench.js`).
 */
export const CHUNK_CHARS = 1 << 15;

/** Where the formatter's lines go: plaintext chunks ({@link ChunkOut}) or pickle messages (pickle.ts). */
export interface LineOut {
  /** Whole lines. */
  write(s: string): void;
  /** The flush is complete; `lines` in all. */
  end(lines: number): void;
}

/** Writes strings (whole lines) into pooled chunks and appends each filled chunk to the outgoing flush. */
export class ChunkOut implements LineOut {
  private buf: Buffer;
  private off = 0;
  constructor(
    private readonly pool: ChunkPool,
    private readonly out: OutgoingFlush,
  ) {
    this.buf = pool.take();
  }
  write(s: string): void {
    const need = s.length * 3; // worst case of UTF-8 per UTF-16 unit
    if (this.off + need > this.buf.length) {
      this.emit();
      this.buf = this.pool.take(need);
    }
    this.off += this.buf.write(s, this.off, 'utf8');
  }
  /** Appends what the current chunk holds (a line-aligned view) and starts a new chunk on the next write. */
  private emit(): void {
    if (this.off > 0) this.out.append(this.buf.subarray(0, this.off));
    else this.pool.give(this.buf);
    this.off = 0;
  }
  /** The last chunk. */
  end(lines: number): void {
    this.emit();
    this.buf = EMPTY;
    this.out.end(lines);
  }
}

const EMPTY = Buffer.alloc(0);
