/**
 * The Prometheus text format (version 0.0.4) writer for the user series. Written by hand rather
 * than with prom-client's registry: prom-client keeps one object per metric with per-call label
 * hashing and builds its text on every scrape, which for 100k dynamic series costs far more than
 * these cached per-series line prefixes (see bench/prometheus.bench.ts).
 */
import { MetricType } from '../../parser/types.js';
import { formatValue } from './naming.js';
import type { Family, Series } from './series.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Build (once per series) the text before each value: `name{labels} `. */
function prefixes(s: Series): string[] {
  if (s.prefixes !== null) return s.prefixes;
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
  s.prefixes = out;
  return out;
}

/**
 * Render every family: HELP, TYPE, then one line per sample. `gen` is the store's current flush
 * generation: a summary not observed in it reports NaN quantiles (no values in the last interval),
 * a set not reported in it reports 0.
 */
export function writeExposition(families: Iterable<Family>, gen: number): string {
  let out = '';
  for (const f of families) {
    out += f.header;
    const kind = f.kind;
    const isSet = f.statsdType === MetricType.Set;
    for (const s of f.series.values()) {
      const p = prefixes(s);
      if (kind === 'counter' || kind === 'gauge') {
        out += p[0]! + (isSet && s.gen !== gen ? '0' : formatValue(s.value)) + '\n';
      } else if (kind === 'summary') {
        const qv = s.quantileValues;
        const fresh = s.gen === gen;
        for (let k = 0; k < qv.length; k++) out += p[k]! + (fresh ? formatValue(qv[k]!) : 'NaN') + '\n';
        out += p[qv.length]! + formatValue(s.sum) + '\n' + p[qv.length + 1]! + formatValue(s.count) + '\n';
      } else {
        const bc = s.bucketCounts;
        for (let k = 0; k < bc.length; k++) out += p[k]! + formatValue(bc[k]!) + '\n';
        out += p[bc.length]! + formatValue(s.count) + '\n';
        out += p[bc.length + 1]! + formatValue(s.sum) + '\n' + p[bc.length + 2]! + formatValue(s.count) + '\n';
      }
    }
  }
  return out;
}
