/**
 * Per-timer value reservoirs: Algorithm R (Vitter) over the values of one interval, with an
 * injectable RNG. While a timer has seen no more values than the reservoir size, the reservoir holds
 * every value and percentiles are exact; beyond that it holds a uniform sample of `size` values.
 *
 * A reservoir is a plain Float64Array grown lazily (16 → 32 → … → size), so the common timer with a
 * handful of values per interval costs a few slots, not `size` (a 1024-slot array per key would be
 * 8 KiB × keys).
 *
 * Algorithm R itself is written once, in the aggregator's hot path (Aggregator.addTimer keeps every
 * value while there is room, pastReservoir replaces a random slot past it), where it runs inline with
 * its own xorshift RNG unless one is injected; test/unit/aggregator/reservoir.test.ts exercises it there.
 */

/** Shared zero-length reservoir for timers that have never held a value (keeps the slot array's element kind one shape). */
export const EMPTY_RESERVOIR: Float64Array = new Float64Array(0);

export const INITIAL_RESERVOIR_CAPACITY = 16;

/** A larger copy of `res` able to hold index `need` (doubling, capped at `size`). */
export function growReservoir(res: Float64Array, need: number, size: number): Float64Array {
  let cap = res.length < INITIAL_RESERVOIR_CAPACITY ? INITIAL_RESERVOIR_CAPACITY : res.length * 2;
  while (cap <= need) cap *= 2;
  if (cap > size) cap = size;
  const next = new Float64Array(cap);
  next.set(res);
  return next;
}

/** The values currently held after `n` offers (a view: copy before keeping). */
export function reservoirValues(res: Float64Array, n: number, size: number): Float64Array {
  return res.subarray(0, Math.min(n, size));
}

/** A small, seedable PRNG (mulberry32) for tests and benches; returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
