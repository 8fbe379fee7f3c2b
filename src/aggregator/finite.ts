/**
 * Values stay finite: an accumulator that would overflow to ±Infinity saturates at ±Number.MAX_VALUE
 * instead (`x:1e308|c` sent twice, a gauge pushed past the range by deltas, a timer's sum of squares of
 * 1e200). Graphite and Prometheus then never see `Infinity` or `NaN` from finite input.
 *
 * The hot path checks only where an add can overflow, after the add, with `v - v !== 0` (true for
 * ±Infinity and NaN only), and calls {@link saturate} in that rare case.
 */

/** The largest finite double: where accumulators saturate. */
export const SATURATED = Number.MAX_VALUE;

/** `v` clamped to ±{@link SATURATED}; NaN (only reachable as Infinity − Infinity) becomes 0. */
export function saturate(v: number): number {
  if (v > SATURATED) return SATURATED;
  if (v < -SATURATED) return -SATURATED;
  return v === v ? v : 0;
}

/** `a + b` saturated (off the hot path: flush and merge). */
export function addSaturated(a: number, b: number): number {
  const v = a + b;
  return v - v === 0 ? v : saturate(v);
}
