/**
 * Which timer fields a backend emits (the original's calculatedTimerMetrics, an inclusion list), and
 * one timer's fields as an object (the console backend's timer_data). Shared by the Graphite, console
 * and plugin backends; depends on no backend.
 */
import type { TimerStat } from '../aggregator/snapshot.js';

/** Which timer fields are emitted (the original's calculatedTimerMetrics, an inclusion list). */
export interface TimerFieldFilter {
  readonly countPct: boolean;
  readonly meanPct: boolean;
  readonly upperPct: boolean;
  readonly lowerPct: boolean;
  readonly sumPct: boolean;
  readonly sumSquaresPct: boolean;
  readonly std: boolean;
  readonly upper: boolean;
  readonly lower: boolean;
  readonly count: boolean;
  readonly countPs: boolean;
  readonly sum: boolean;
  readonly sumSquares: boolean;
  readonly mean: boolean;
  readonly median: boolean;
  readonly histogram: boolean;
}

/**
 * The name a timer field is matched under in calculatedTimerMetrics: a trailing `_<digits>`,
 * `_top<digits>` or `_<digits>_<digits>` (threshold 99.9 → `_99_9`) becomes `_percent`.
 */
export function timerMetricFilterName(field: string): string {
  return field.replace(/_(top)?\d+(_\d+)?$/, '_percent');
}

/** null (or no list): every field; else keep the fields whose filter name is listed. */
export function timerFieldFilter(list: readonly string[] | null): TimerFieldFilter {
  const keep = (field: string): boolean => list === null || list.includes(timerMetricFilterName(field));
  return {
    countPct: keep('count_90'),
    meanPct: keep('mean_90'),
    upperPct: keep('upper_90'),
    lowerPct: keep('lower_top90'),
    sumPct: keep('sum_90'),
    sumSquaresPct: keep('sum_squares_90'),
    std: keep('std'),
    upper: keep('upper'),
    lower: keep('lower'),
    count: keep('count'),
    countPs: keep('count_ps'),
    sum: keep('sum'),
    sumSquares: keep('sum_squares'),
    mean: keep('mean'),
    median: keep('median'),
    histogram: keep('histogram'),
  };
}

/** One timer's kept fields by name, as the original's timer_data (console backend). */
export function timerDataObject(t: TimerStat, f: TimerFieldFilter): Record<string, number | Record<string, number>> {
  const out: Record<string, number | Record<string, number>> = {};
  if (t.n === 0) {
    if (f.count) out['count'] = 0;
    if (f.countPs) out['count_ps'] = 0;
    return out;
  }
  for (const p of t.percentiles) {
    if (f.countPct) out['count_' + p.suffix] = p.count;
    if (f.meanPct) out['mean_' + p.suffix] = p.mean;
    if (p.threshold > 0 ? f.upperPct : f.lowerPct) out[(p.threshold > 0 ? 'upper_' : 'lower_') + p.suffix] = p.bound;
    if (f.sumPct) out['sum_' + p.suffix] = p.sum;
    if (f.sumSquaresPct) out['sum_squares_' + p.suffix] = p.sumSquares;
  }
  if (f.std) out['std'] = t.std;
  if (f.upper) out['upper'] = t.upper;
  if (f.lower) out['lower'] = t.lower;
  if (f.count) out['count'] = t.count;
  if (f.countPs) out['count_ps'] = t.countPs;
  if (f.sum) out['sum'] = t.sum;
  if (f.sumSquares) out['sum_squares'] = t.sumSquares;
  if (f.mean) out['mean'] = t.mean;
  if (f.median) out['median'] = t.median;
  if (t.histogram !== null && f.histogram) {
    const h: Record<string, number> = {};
    for (let j = 0; j < t.histogram.names.length; j++) h[t.histogram.names[j]!] = t.histogram.counts[j]!;
    out['histogram'] = h;
  }
  return out;
}
