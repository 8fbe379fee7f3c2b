/**
 * Reads off a partial (./protocol.ts, the format is described there) what the primary's merge needs to
 * size each timer's histogram once (../aggregator/stores/timer-merge.ts): per timer, the buckets its
 * exponential histogram uses, or the range of its values when it sent all of them. Nothing is decoded
 * or copied but those few numbers (arrays are skipped), and the dictionary is left to decodePartial.
 *
 * A partial it cannot read adds nothing more (decodePartial then refuses it); a timer it does not
 * report only loses the single sizing, not a count.
 */
import type { TimerMergeRanges } from '../aggregator/stores/timer-merge.js';
import { graphiteTagSuffix } from '../parser/canonical.js';
import type { MetricKey, Tag } from '../parser/types.js';
import type { PartialDictionary } from './protocol.js';
import { Reader } from './wire.js';

const TIMER = 1;

/**
 * Adds the ranges of the timers in `bufs` to `into`: one source's partials in the order they are to be
 * decoded (a late one, then this flush's), `dict` its dictionary before the first of them.
 */
export function skimTimerRanges(bufs: readonly Buffer[], dict: PartialDictionary, into: TimerMergeRanges): void {
  // timer keys new in these partials, by wire id past the dictionary's (decodePartial adds them to it)
  const fresh: string[] = [];
  for (const buf of bufs) {
    try {
      skim(buf, dict.keys[TIMER]!, fresh, into);
    } catch {
      return; // (malformed: decodePartial reports it; the ids of a later one could not be known)
    }
  }
}

function skim(buf: Buffer, known: readonly MetricKey[], fresh: string[], into: TimerMergeRanges): void {
  const r = new Reader(buf);
  r.off = 8; // magic, sequence number
  for (let i = 0, n = r.u32(); i < n; i++) {
    const type = r.u8();
    if (type !== TIMER) {
      skipStr(r);
      for (let j = 0, nt = r.u16(); j < nt; j++) {
        skipStr(r);
        skipStr(r);
      }
      continue;
    }
    const name = r.str();
    const tags: Tag[] = [];
    for (let j = 0, nt = r.u16(); j < nt; j++) tags.push([r.str(), r.str()]);
    fresh.push(name + graphiteTagSuffix(tags));
  }
  r.off += 32; // own: bad lines, packets, lines, last message
  skip(r, 8 * r.u8()); // bad lines by reason
  skip(r, 12 * r.u32()); // counters: (u32 id, f64 value)…
  for (let i = 0, n = r.u32(); i < n; i++) {
    const wireId = r.u32();
    const id = wireId < known.length ? known[wireId]!.id : fresh[wireId - known.length];
    r.off += 8; // count
    const nv = r.f64();
    r.off += 16; // sum, sum of squares
    const min = r.f64();
    const max = r.f64();
    const m = r.u32();
    skip(r, 8 * m);
    skip(r, 8 * r.u32()); // bins
    if (r.u8() === 1) {
      const scale = r.f64();
      r.off += 8; // zero
      const posBase = r.f64();
      const pLen = r.u32();
      const pAt = r.off;
      skip(r, 8 * pLen);
      const negBase = r.f64();
      const nLen = r.u32();
      const nAt = r.off;
      skip(r, 8 * nLen);
      if (r.off > buf.length) throw new RangeError('partial truncated');
      const p0 = firstUsed(buf, pAt, pLen);
      const p1 = lastUsed(buf, pAt, pLen);
      const n0 = firstUsed(buf, nAt, nLen);
      const n1 = lastUsed(buf, nAt, nLen);
      const ok = Number.isInteger(scale) && scale <= 6 && scale >= -10;
      if (id !== undefined && ok && index(posBase, p0, p1, scale) && index(negBase, n0, n1, scale)) {
        into.histogram(id, scale, posBase + p0, posBase + p1, negBase + n0, negBase + n1);
      }
    } else if (id !== undefined && m === nv && m > 0) {
      // every value of the interval (the reservoir was not full): min and max are among them
      into.values(id, min, max);
    }
    skip(r, 8 * r.u32()); // le
    if (r.off > buf.length) throw new RangeError('partial truncated');
  }
}

/** Bucket indexes a valid partial can hold, base + a … base + b at `scale` (past them, nothing is reserved). */
function index(base: number, a: number, b: number, scale: number): boolean {
  const up = 2 ** (6 - scale);
  return Number.isInteger(base) && Math.abs(base + a) * up < 2 ** 21 && Math.abs(base + b) * up < 2 ** 21;
}

/** (`r.off += r.u32()` would add to the offset from before the read) */
function skip(r: Reader, bytes: number): void {
  r.off += bytes;
}

function skipStr(r: Reader): void {
  skip(r, r.u32());
}

/** The first non-zero of the `len` doubles at `at` (len: none). */
function firstUsed(buf: Buffer, at: number, len: number): number {
  let a = 0;
  while (a < len && buf.readDoubleLE(at + 8 * a) === 0) a++;
  return a;
}

/** The last non-zero of the `len` doubles at `at` (-1: none). */
function lastUsed(buf: Buffer, at: number, len: number): number {
  let b = len - 1;
  while (b >= 0 && buf.readDoubleLE(at + 8 * b) === 0) b--;
  return b;
}
