/**
 * The key hash the scanner computes in its pass over a line's key (scanner.ts's fast path) and the
 * key index recomputes for keys that took the general path.
 */

/**
 * The key hash of {@link Sample.keyHash}: FNV-1a (32-bit) in two lanes, bytes at even offsets from
 * the key's start in one, odd in the other, then combined. Two lanes halve the chain of dependent
 * multiplies in the scanner's key loop (measured parse-only: 28-byte keys 65 → 52 ns per line, the same on
 * 7-byte keys; bench/parser.bench.ts's `parsePacket` rows time the scanner: `node dist/bench/parser.bench.js`).
 */
export const FNV_OFFSET = 0x811c9dc5;
/** The second lane's start (any constant other than FNV_OFFSET). */
export const FNV_OFFSET_2 = 0x050c5d1f;
export const FNV_PRIME = 0x01000193;
/** Multiplier of the odd lane when the lanes are combined: `even ^ imul(odd, FNV_LANE_MIX)`. */
export const FNV_LANE_MIX = 0x85ebca6b;

/** The key hash of `buf[start, end)` (what the scanner leaves in {@link Sample.keyHash}), as int32. */
export function hashKeyBytes(buf: Uint8Array, start: number, end: number): number {
  let a = FNV_OFFSET | 0;
  let b = FNV_OFFSET_2 | 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    a = Math.imul(a ^ buf[i]!, FNV_PRIME);
    b = Math.imul(b ^ buf[i + 1]!, FNV_PRIME);
  }
  if (i < end) a = Math.imul(a ^ buf[i]!, FNV_PRIME);
  return a ^ Math.imul(b, FNV_LANE_MIX);
}
