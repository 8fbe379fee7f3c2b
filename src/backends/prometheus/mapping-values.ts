/**
 * The value readers of statsd_exporter's mapping file (./mapping.ts), also used for the `prometheus`
 * config section (./config.ts): Go durations, quantiles, buckets, observer types, TTLs and the
 * summary/histogram options. Each pushes a problem naming where the value was and returns undefined
 * when it is wrong.
 */
import type { ObserverType } from './mapping.js';

const SUMMARY_KEYS = new Set(['quantiles', 'max_age', 'age_buckets', 'buf_cap']);
const HISTOGRAM_KEYS = new Set(['buckets', 'native_histogram_bucket_factor', 'native_histogram_max_buckets']);

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Go / Prometheus duration (`90s`, `10m`, `1h30m`, `1.5h`, `0`) → ms; undefined when invalid. */
export function parseDuration(s: string): number | undefined {
  const t = s.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/y;
  let pos = 0;
  let total = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos > 0 ? total : undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Quantiles as statsd_exporter writes them (`- quantile: 0.9\n  error: 0.01`), or bare numbers. */
export function readQuantiles(v: unknown, where: string, problems: string[]): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    problems.push(`${where}: expected a list of quantiles`);
    return undefined;
  }
  const out: number[] = [];
  for (const q of v) {
    const n = isRecord(q) ? q['quantile'] : q;
    if (typeof n !== 'number' || !(n >= 0 && n <= 1)) {
      problems.push(`${where}: expected quantiles between 0 and 1, got ${JSON.stringify(q)}`);
      return undefined;
    }
    out.push(n);
  }
  return out.length > 0 ? out : undefined;
}

/** Histogram buckets: finite, strictly ascending upper bounds (+Inf is implicit and dropped if given). */
export function readBuckets(v: unknown, where: string, problems: string[]): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((b) => typeof b !== 'number' || Number.isNaN(b))) {
    problems.push(`${where}: expected a list of numbers`);
    return undefined;
  }
  const out = (v as number[]).filter((b) => b !== Infinity);
  for (let i = 1; i < out.length; i++) {
    if (!(out[i]! > out[i - 1]!)) {
      problems.push(`${where}: buckets must be strictly ascending`);
      return undefined;
    }
  }
  return out.length > 0 ? out : undefined;
}

export function readObserverType(v: unknown, where: string, problems: string[]): ObserverType | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === 'summary' || v === 'histogram') return v;
  problems.push(`${where}: expected 'summary' or 'histogram', got ${JSON.stringify(v)}`);
  return undefined;
}

export function readTtl(v: unknown, where: string, problems: string[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 0) return 0;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) problems.push(`${where}: expected a duration like '10m' or '1h30m', got ${JSON.stringify(v)}`);
  return ms;
}

export function unknownKeys(obj: Record<string, unknown>, known: Set<string>, where: string, warnings: string[]): void {
  for (const k of Object.keys(obj)) if (!known.has(k)) warnings.push(`${where}: unknown key '${k}' ignored`);
}

/** Options from `summary_options` / `histogram_options` (new style) or the top-level legacy keys. */
export function readObserverOptions(
  obj: Record<string, unknown>,
  where: string,
  problems: string[],
  warnings: string[],
): { quantiles: number[] | undefined; buckets: number[] | undefined } {
  let quantiles = readQuantiles(obj['quantiles'], `${where}.quantiles`, problems);
  let buckets = readBuckets(obj['buckets'], `${where}.buckets`, problems);
  const so = obj['summary_options'];
  if (so !== undefined && so !== null) {
    if (!isRecord(so)) problems.push(`${where}.summary_options: expected a map`);
    else {
      unknownKeys(so, SUMMARY_KEYS, `${where}.summary_options`, warnings);
      const q = readQuantiles(so['quantiles'], `${where}.summary_options.quantiles`, problems);
      if (q && quantiles) problems.push(`${where}: cannot use quantiles in both the top level and summary_options`);
      quantiles = q ?? quantiles;
    }
  }
  const ho = obj['histogram_options'];
  if (ho !== undefined && ho !== null) {
    if (!isRecord(ho)) problems.push(`${where}.histogram_options: expected a map`);
    else {
      unknownKeys(ho, HISTOGRAM_KEYS, `${where}.histogram_options`, warnings);
      const b = readBuckets(ho['buckets'], `${where}.histogram_options.buckets`, problems);
      if (b && buckets) problems.push(`${where}: cannot use buckets in both the top level and histogram_options`);
      buckets = b ?? buckets;
    }
  }
  return { quantiles, buckets };
}
