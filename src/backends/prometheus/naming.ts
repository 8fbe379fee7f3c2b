/**
 * Prometheus naming, as statsd_exporter does it by default, and the small text-format helpers.
 * Runs once per distinct key (results are cached by the series store), never per packet.
 */
import type { MetricKey } from '../../parser/types.js';
import type { PromKind } from './family.js';

/** Whether a code unit is in [A-Za-z0-9_]. */
function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A metric name as statsd_exporter escapes it: every character outside `[A-Za-z0-9_]` becomes `_`,
 * a leading digit gets a `_` prefix; `web.requests` → `web_requests`, `5xx` → `_5xx`, '' → `_`.
 */
export function sanitizeMetricName(s: string): string {
  if (s.length === 0) return '_';
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isWordChar(c)) continue;
    changed = true;
    break;
  }
  if (!changed) out = s;
  else {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      out += isWordChar(c) ? s[i] : '_';
    }
  }
  return isDigit(out.charCodeAt(0)) ? '_' + out : out;
}

/**
 * A label name: escaped like a metric name; a leading run of underscores is cut to one, because
 * names starting with `__` are reserved for Prometheus itself.
 */
export function sanitizeLabelName(s: string): string {
  let out = sanitizeMetricName(s);
  if (out.startsWith('__')) {
    let i = 0;
    while (i < out.length && out.charCodeAt(i) === 0x5f) i++;
    out = '_' + out.slice(i);
  }
  return out;
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidMetricName(s: string): boolean {
  return METRIC_NAME_RE.test(s);
}

export function isValidLabelName(s: string): boolean {
  return LABEL_NAME_RE.test(s) && !s.startsWith('__');
}

/** A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`. */
export function escapeLabelValue(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c || c === 0x22 || c === 0x0a) {
      needs = true;
      break;
    }
  }
  if (!needs) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += '\\n';
    else out += s[i];
  }
  return out;
}

/** HELP text escaping: `\` → `\\`, newline → `\n`. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value in the text format: Go-compatible `NaN`, `+Inf`, `-Inf`, else JS number formatting. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v !== v) return 'NaN';
  return String(v);
}

/** Label pairs (already valid names, sorted) → `a="x",b="y"` (no braces); '' for none. */
export function labelBody(labels: readonly (readonly [string, string])[]): string {
  let out = '';
  for (let i = 0; i < labels.length; i++) {
    const [k, v] = labels[i]!;
    if (i > 0) out += ',';
    out += k + '="' + escapeLabelValue(v) + '"';
  }
  return out;
}

/**
 * Labels for one key: its tags (names sanitised, empty values dropped since Prometheus treats them
 * as absent, first of a duplicate name kept) merged with the mapping's labels (the mapping wins
 * unless honor_labels), `quantile` / `le` renamed `exported_…` where the type uses them; sorted.
 */
export function buildLabels(
  key: MetricKey,
  mappingLabels: readonly (readonly [string, string])[],
  honorLabels: boolean,
  kind: PromKind,
): [string, string][] {
  const out = new Map<string, string>();
  const reserved = kind === 'summary' ? 'quantile' : kind === 'histogram' ? 'le' : '';
  const put = (k: string, v: string, override: boolean): void => {
    if (v === '') return;
    if (k === reserved) k = 'exported_' + k;
    if (override || !out.has(k)) out.set(k, v);
  };
  if (honorLabels) {
    for (const [k, v] of key.tags) put(sanitizeLabelName(k), v, false);
    for (const [k, v] of mappingLabels) put(k, v, false);
  } else {
    for (const [k, v] of mappingLabels) put(k, v, true);
    for (const [k, v] of key.tags) put(sanitizeLabelName(k), v, false);
  }
  return [...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
