/**
 * The bucket index of the base-2 exponential histogram (./exphist.ts): at {@link MAX_SCALE} from the
 * float's bits (the ingest's hot path), at lower scales by a shift, and the bounds and midpoint of a
 * bucket.
 */

/** The starting (and highest) scale: 64 buckets per power of two. */
export const MAX_SCALE = 6;

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Which half of the float's 8 bytes holds the sign, exponent and top of the mantissa. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Table cells per power of two: the top CELL_BITS bits of the mantissa (each cell holds at most one bucket boundary). */
const CELL_BITS = 10;
/**
 * With the mantissa m (52 bits) of v = 2^E × (1 + m / 2^52), the index at MAX_SCALE is
 * 64E − 1 + #{j in 0 … 63 : b_j < m}, where b_j = (2^(j/64) − 1) × 2^52 are the bucket boundaries
 * (b_0 = 0: a power of two, m = 0, is the upper bound of bucket 64E − 1; no other boundary is a
 * double). Per cell: the boundaries below the cell's lowest mantissa,
 */
const CELL_SUB = new Int32Array(1 << CELL_BITS);
/** and the one boundary in the cell, if any (Infinity: none): one more when m is above it. */
const CELL_CUT = new Float64Array(1 << CELL_BITS);
{
  const per = 1 << MAX_SCALE;
  const cells = 1 << CELL_BITS;
  for (let t = 0; t < cells; t++) {
    const m0 = t / cells;
    const m1 = (t + 1) / cells;
    let below = 0;
    let cut = Infinity;
    for (let j = 0; j < per; j++) {
      const b = j === 0 ? 0 : 2 ** (j / per) - 1;
      if (b < m0) below++;
      else if (b < m1) cut = Math.floor(b * 2 ** 52);
    }
    CELL_SUB[t] = below;
    CELL_CUT[t] = cut;
  }
}
/** Index of the bucket holding Infinity (and anything above the largest double's bucket). */
const TOP_INDEX = (1024 << MAX_SCALE) - 1;

/**
 * The bucket index at {@link MAX_SCALE} of a value v > 0: ceil(log2(v) × 64) − 1, exact at powers of
 * two (2^k is the upper bound of bucket 64k − 1) and within one ulp of the boundary elsewhere.
 * Normal values: the exponent, a table look-up on the top of the mantissa and one compare, no branch
 * but the one that sends subnormals and Infinity away (bench/timers.bench.ts (b) measures the ingest).
 */
export function indexAtMaxScale(v: number): number {
  F64[0] = v;
  const hi = U32[HI]!;
  const e = (hi >>> 20) & 0x7ff;
  // (one unsigned compare for e === 0, subnormal, and e === 0x7ff, Infinity)
  if ((e - 1) >>> 0 >= 0x7fe) return e === 0 ? Math.ceil(Math.log2(v) * (1 << MAX_SCALE)) - 1 : TOP_INDEX;
  const mh = hi & 0xfffff;
  const t = mh >>> (20 - CELL_BITS);
  return ((e - 1023) << MAX_SCALE) - 1 + CELL_SUB[t]! + (mh * 4294967296 + U32[LO]! > CELL_CUT[t]! ? 1 : 0);
}

/** The bucket index of v > 0 at `scale` (<= MAX_SCALE). */
export function bucketIndex(v: number, scale: number): number {
  return indexAtMaxScale(v) >> (MAX_SCALE - scale);
}

/** Lower bound (exclusive) of bucket `i` at `scale`: 2^(i / 2^scale). */
export function bucketLower(i: number, scale: number): number {
  return 2 ** (i / 2 ** scale);
}

/**
 * The value a bucket stands for: the midpoint in relative terms, 2LU / (L + U), at the same relative
 * distance (b − 1)/(b + 1) from both bounds.
 */
export function bucketMidpoint(i: number, scale: number): number {
  const l = bucketLower(i, scale);
  const u = bucketLower(i + 1, scale);
  const m = (2 * l * u) / (l + u);
  // (2 l u overflows for the top buckets)
  return Number.isFinite(m) ? m : l;
}
