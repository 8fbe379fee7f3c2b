/**
 * The Prometheus text format (version 0.0.4) writer for the user series. Written by hand rather
 * than with prom-client's registry: prom-client keeps one object per metric with per-call label
 * hashing and builds its text on every scrape, which for 100k dynamic series costs far more than
 * these cached per-series line prefixes (see bench/prometheus.bench.ts).
 *
 * The text is written into chunks of about {@link CHUNK_BYTES} (Buffers), never one string: V8's
 * strings stop at ~512 MiB (`RangeError: Invalid string length`), and a few long keys from one
 * sender must not make the whole endpoint fail. It is also written within a byte budget: when the
 * series would not fit, the largest are left out (and reported) until the rest does.
 */
import { MetricType } from '../../parser/types.js';
import { formatValue } from './naming.js';
import type { Family, Series } from './series.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Size a chunk is closed at (it always ends at a line). */
export const CHUNK_BYTES = 64 * 1024;
/** The longest text of a value plus its newline: `-1.7976931348623157e+308\n`. */
export const MAX_VALUE_BYTES = 25;

/**
 * Line prefixes longer than this (in total) are built at each render rather than kept: a few
 * thousand 10 kB keys would otherwise pin five copies of each name between scrapes.
 */
export const PREFIX_CACHE_MAX_BYTES = 4096;

/** Build (once per series, unless long) the text before each value: `name{labels} `. */
function prefixes(s: Series): string[] {
  if (s.prefixes !== null) return s.prefixes;
  const out = buildPrefixes(s);
  if (prefixBytes(s) <= PREFIX_CACHE_MAX_BYTES) s.prefixes = out;
  return out;
}

function buildPrefixes(s: Series): string[] {
  const f = s.family;
  const name = f.name;
  const body = s.labels;
  const braces = body === '' ? '' : '{' + body + '}';
  const sep = body === '' ? '' : body + ',';
  const out: string[] = [];
  if (f.kind === 'summary') {
    for (const q of f.quantileLabels) out.push(`${name}{${sep}quantile="${q}"} `);
    out.push(`${name}_sum${braces} `, `${name}_count${braces} `);
  } else if (f.kind === 'histogram') {
    for (const b of f.bucketLabels) out.push(`${name}_bucket{${sep}le="${b}"} `);
    out.push(`${name}_bucket{${sep}le="+Inf"} `, `${name}_sum${braces} `, `${name}_count${braces} `);
  } else {
    out.push(`${name}${braces} `);
  }
  return out;
}

/** Sample lines of a series. */
function lineCount(s: Series): number {
  const f = s.family;
  if (f.kind === 'summary') return f.quantileLabels.length + 2;
  if (f.kind === 'histogram') return f.bucketLabels.length + 3;
  return 1;
}

/**
 * Bytes of a series' line prefixes, computed from the lengths (the prefixes of a series that is
 * left out are never built). Equal to the UTF-8 length of {@link prefixes}' strings.
 */
export function prefixBytes(s: Series): number {
  const f = s.family;
  const n = f.nameBytes;
  const lb = s.labelBytes;
  const braces = lb === 0 ? 0 : lb + 2; // {labels}
  const open = lb === 0 ? 1 : lb + 2; // `{` + labels + `,`
  if (f.kind === 'summary') {
    let b = 0;
    // name{labels,quantile="q"} + space
    for (const q of f.quantileLabels) b += n + open + 10 + q.length + 2 + 1;
    return b + (n + 4 + braces + 1) + (n + 6 + braces + 1);
  }
  if (f.kind === 'histogram') {
    let b = 0;
    // name_bucket{labels,le="b"} + space
    for (const q of f.bucketLabels) b += n + 7 + open + 4 + q.length + 2 + 1;
    b += n + 7 + open + 4 + 4 + 2 + 1; // +Inf
    return b + (n + 4 + braces + 1) + (n + 6 + braces + 1);
  }
  return n + braces + 1;
}

/** Bytes of a series' sample lines as {@link writeSeries} writes them for `gen`. */
export function seriesBytes(s: Series, gen: number): number {
  let b = prefixBytes(s) + lineCount(s); // prefixes and newlines
  const f = s.family;
  if (f.kind === 'counter' || f.kind === 'gauge') {
    return b + (f.statsdType === MetricType.Set && s.gen !== gen ? 1 : formatValue(s.value).length);
  }
  if (f.kind === 'summary') {
    const qv = s.quantileValues;
    const fresh = s.gen === gen;
    for (let k = 0; k < qv.length; k++) b += fresh ? formatValue(qv[k]!).length : 3;
    return b + formatValue(s.sum).length + formatValue(s.count).length;
  }
  const bc = s.bucketCounts;
  for (let k = 0; k < bc.length; k++) b += formatValue(bc[k]!).length;
  return b + 2 * formatValue(s.count).length + formatValue(s.sum).length;
}

/**
 * One series' sample lines. `gen` is the store's current flush generation: a summary not observed
 * in it reports NaN quantiles (no values in the last interval), a set not reported in it reports 0.
 */
function writeSeries(s: Series, gen: number): string {
  const p = prefixes(s);
  const f = s.family;
  const kind = f.kind;
  if (kind === 'counter' || kind === 'gauge') {
    return p[0]! + (f.statsdType === MetricType.Set && s.gen !== gen ? '0' : formatValue(s.value)) + '\n';
  }
  let out = '';
  if (kind === 'summary') {
    const qv = s.quantileValues;
    const fresh = s.gen === gen;
    for (let k = 0; k < qv.length; k++) out += p[k]! + (fresh ? formatValue(qv[k]!) : 'NaN') + '\n';
    return out + p[qv.length]! + formatValue(s.sum) + '\n' + p[qv.length + 1]! + formatValue(s.count) + '\n';
  }
  const bc = s.bucketCounts;
  for (let k = 0; k < bc.length; k++) out += p[k]! + formatValue(bc[k]!) + '\n';
  out += p[bc.length]! + formatValue(s.count) + '\n';
  return out + p[bc.length + 1]! + formatValue(s.sum) + '\n' + p[bc.length + 2]! + formatValue(s.count) + '\n';
}

/** The store's family map, or any list of families. */
export type Families = ReadonlyMap<string, Family> | Iterable<Family>;

/** Something that can be walked more than once (a Map's values, or a copy of a one-shot iterator). */
function reiterable(source: Families): Iterable<Family> {
  if (source instanceof Map) return { [Symbol.iterator]: () => (source as ReadonlyMap<string, Family>).values() };
  return Array.isArray(source) ? (source as Family[]) : Array.from(source as Iterable<Family>);
}

/** A rendered exposition of the user series. */
export class Rendered {
  readonly chunks: Buffer[] = [];
  /** Total bytes of `chunks`. */
  bytes = 0;
  /** Series written. */
  series = 0;
  /** Series left out to stay within the budget, and their bytes. */
  droppedSeries = 0;
  droppedBytes = 0;
  /** The largest series left out (for the log): its family name, labels and bytes. */
  largestDropped: { readonly name: string; readonly labels: string; readonly bytes: number } | null = null;

  constructor(
    /** The budget it was written for (bytes). */
    readonly budget: number,
  ) {}
}

/**
 * Write every family (HELP, TYPE, then one line per sample) into `out`, leaving out the largest
 * series while the whole would exceed `out.budget`. A generator: it yields every 256 series so a
 * caller can give the event loop back (see {@link renderExpositionAsync}); the families must not
 * change until it is done.
 */
export function* renderSteps(source: Families, gen: number, out: Rendered): Generator<void, void, void> {
  const families = reiterable(source);
  const budget = out.budget;
  let visited = 0;
  // 1. A cheap upper bound (values at their widest): when it fits, nothing is measured exactly.
  let bound = 0;
  for (const f of families) {
    bound += f.headerBytes;
    for (const s of f.series.values()) {
      bound += prefixBytes(s) + lineCount(s) * MAX_VALUE_BYTES;
      if ((++visited & 255) === 0) yield;
    }
  }
  let dropped: Set<Series> | null = null;
  if (bound > budget) {
    // 2. Exact sizes; the largest series go first until the rest fits. A family whose series all
    //    go takes its HELP/TYPE lines with it (a lone series is ranked with them).
    const all: Series[] = [];
    const sizes: number[] = [];
    const rank: number[] = [];
    const fam: number[] = [];
    const left: number[] = [];
    const headers: number[] = [];
    let total = 0;
    for (const f of families) {
      const fi = headers.length;
      headers.push(f.headerBytes);
      left.push(f.series.size);
      total += f.headerBytes;
      const lone = f.series.size === 1 ? f.headerBytes : 0;
      for (const s of f.series.values()) {
        const b = seriesBytes(s, gen);
        all.push(s);
        sizes.push(b);
        rank.push(b + lone);
        fam.push(fi);
        total += b;
        if ((++visited & 255) === 0) yield;
      }
    }
    if (total > budget) {
      const order = Array.from(all.keys());
      order.sort((a, b) => rank[b]! - rank[a]! || a - b);
      dropped = new Set();
      for (let i = 0; i < order.length && total > budget; i++) {
        const j = order[i]!;
        const s = all[j]!;
        const fi = fam[j]!;
        const b = sizes[j]! + (--left[fi]! === 0 ? headers[fi]! : 0);
        dropped.add(s);
        total -= b;
        out.droppedSeries++;
        out.droppedBytes += b;
        if (i === 0) out.largestDropped = { name: s.family.name, labels: s.labels, bytes: b };
      }
    }
  }
  // 3. Write, in chunks.
  let chunk = '';
  const flushChunk = (): void => {
    const buf = Buffer.from(chunk, 'utf8');
    out.chunks.push(buf);
    out.bytes += buf.length;
    chunk = '';
  };
  for (const f of families) {
    let headed = false;
    for (const s of f.series.values()) {
      if ((++visited & 255) === 0) yield;
      if (dropped?.has(s)) continue;
      if (!headed) {
        chunk += f.header;
        headed = true;
      }
      chunk += writeSeries(s, gen);
      out.series++;
      // string length counts UTF-16 units: at most the UTF-8 bytes of BMP text, close enough for a chunk size
      if (chunk.length >= CHUNK_BYTES) flushChunk();
    }
  }
  if (chunk !== '') flushChunk();
}

/** Render synchronously (tests, bench). */
export function renderExposition(families: Families, gen: number, budget = Infinity): Rendered {
  const out = new Rendered(budget);
  const steps = renderSteps(families, gen, out);
  while (!steps.next().done);
  return out;
}

/** Render in slices of about `sliceMs`, calling `pause` (yield to ingest) in between. */
export async function renderExpositionAsync(
  families: Families,
  gen: number,
  budget: number,
  sliceMs: number,
  pause: () => Promise<void>,
): Promise<Rendered> {
  const out = new Rendered(budget);
  let deadline = performance.now() + sliceMs;
  for (const _ of renderSteps(families, gen, out)) {
    if (performance.now() >= deadline) {
      await pause();
      deadline = performance.now() + sliceMs;
    }
  }
  return out;
}

/** The whole text (tests and small expositions only: the daemon serves {@link Rendered.chunks}). */
export function writeExposition(families: Families, gen: number): string {
  return Buffer.concat(renderExposition(families, gen).chunks).toString('utf8');
}
