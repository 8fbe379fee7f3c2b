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

/**
 * The hash of DogStatsD tag bytes: murmur3's 32-bit body (seed 0) over `buf[start, end)` in four-byte
 * little-endian words, its tail, and the length; 0 for no bytes. The general path of the scanner
 * computes it in its one pass over a line's `#tags` (line.ts), the same pass that finds where the tags
 * end (a `|` before a DogStatsD field), so the key table does not read the tag bytes to hash them.
 * No final mix: the key table finalises the raw key's hash (KeyTable.findHashed).
 */
export const MURMUR_C1 = 0xcc9e2d51;
export const MURMUR_C2 = 0x1b873593;
export const MURMUR_N = 0xe6546b64;

/** The tag hash of `buf[start, end)`, as int32 (see {@link hashRawKey}). */
export function hashTagBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const w = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    let k = Math.imul(w, MURMUR_C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, MURMUR_C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + MURMUR_N) | 0;
  }
  if (i < end) {
    let k = 0;
    for (let sh = 0; i < end; i++, sh += 8) k |= buf[i]! << sh;
    k = Math.imul(k, MURMUR_C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, MURMUR_C2);
  }
  return h ^ (end - start);
}

/**
 * The hash of a raw key, its key bytes `buf[ks, ke)` and DogStatsD tag bytes `buf[ts, te)`: what the
 * scanner leaves in {@link Sample.keyHash} and the key table is looked up by. Untagged, it is the key
 * bytes' hash (the scanner's fast path computes that alone).
 */
export function hashRawKey(buf: Uint8Array, ks: number, ke: number, ts: number, te: number): number {
  return hashKeyBytes(buf, ks, ke) ^ hashTagBytes(buf, ts, te);
}
