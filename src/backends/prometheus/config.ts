/**
 * The `prometheus` config section: its keys (part of the config schema, src/config/schema.ts), their
 * defaults, and how the section is read. Unknown keys here are problems, not warnings (the section
 * is statsd_exporter's, where a typo would silently change the exposition). The core validation
 * (src/config/validate.ts) reads it into `config.prometheus` when the backend is configured.
 */

import type { SectionSchema } from '../../config/schema.js';
import { closestKey } from '../../config/suggest.js';
import { type ObserverType, readMappingFile } from './mapping.js';
import { parseDuration, readBuckets, readQuantiles } from './mapping-values.js';
import { DEFAULT_BUCKETS, DEFAULT_QUANTILES, DEFAULT_TTL_MS } from './series.js';

export const DEFAULT_PROMETHEUS_ADDRESS = '127.0.0.1';
export const DEFAULT_PROMETHEUS_PORT = 9102;
export const DEFAULT_PROMETHEUS_PATH = '/metrics';
/**
 * The most /metrics answers with (user series + tallyd's own). 128 MiB holds over a million
 * ordinary series (100k take ~9 MB) and is already a slow scrape; past it the largest user series
 * are left out, counted.
 */
export const DEFAULT_MAX_EXPOSITION_BYTES = 128 * 1024 * 1024;
/** The smallest budget accepted: tallyd's own and process metrics take ~10 KiB. */
export const MIN_MAX_EXPOSITION_BYTES = 64 * 1024;
export interface PrometheusConfig {
  readonly address: string;
  readonly port: number;
  readonly path: string;
  readonly mappingFile: string | undefined;
  /** ms; 0: never expire. */
  readonly ttlMs: number;
  readonly quantiles: readonly number[];
  readonly buckets: readonly number[];
  readonly observerType: ObserverType;
  /** Bytes: the largest user series are left out of /metrics beyond it. */
  readonly maxExpositionBytes: number;
}

/** The section's keys (docs/reference.md is generated from them; parsePrometheusSection reads them). */
export const PROMETHEUS_SECTION: SectionSchema = {
  prefix: 'prometheus.',
  title: '`prometheus`',
  anchor: 'prometheus',
  intro:
    'Read only when `prometheus` is in `backends` (any `--prometheus-*` flag adds it); otherwise a warning names the section. ' +
    'A reload takes it in place: the series keep their values, the HTTP server is rebound only when its address or port changed.',
  keys: [
    {
      key: 'address',
      check: { kind: 'custom' },
      def: DEFAULT_PROMETHEUS_ADDRESS,
      type: 'string',
      reload: 'backends',
      doc: '/metrics listen address',
    },
    {
      key: 'port',
      check: { kind: 'custom' },
      def: DEFAULT_PROMETHEUS_PORT,
      type: 'int 0..65535',
      reload: 'backends',
      doc: '/metrics port',
    },
    {
      key: 'path',
      check: { kind: 'custom' },
      def: DEFAULT_PROMETHEUS_PATH,
      type: 'URL path',
      reload: 'backends',
      doc: 'metrics path (`/health` is taken)',
    },
    {
      key: 'mappingFile',
      check: { kind: 'custom' },
      type: 'path',
      defaultDoc: '—',
      reload: 'backends',
      doc: 'statsd_exporter mapping file (YAML); SIGHUP reads it again',
    },
    {
      key: 'ttl',
      check: { kind: 'custom' },
      type: 'seconds or duration',
      defaultDoc: `${DEFAULT_TTL_MS / 1000} (\`1h\`)`,
      reload: 'backends',
      doc: 'a series idle this long leaves /metrics (0: never)',
    },
    {
      key: 'quantiles',
      check: { kind: 'custom' },
      def: DEFAULT_QUANTILES,
      type: 'list of 0..1',
      defaultDoc: `\`[${DEFAULT_QUANTILES.join(', ')}]\``,
      reload: 'backends',
      doc: 'summary quantiles',
    },
    {
      key: 'buckets',
      check: { kind: 'custom' },
      def: DEFAULT_BUCKETS,
      type: 'ascending list (seconds)',
      defaultDoc: "Prometheus' defaults",
      reload: 'backends',
      doc: 'histogram buckets',
    },
    {
      key: 'observerType',
      check: { kind: 'custom' },
      def: 'summary',
      type: '`summary` \\| `histogram`',
      reload: 'backends',
      doc: 'what timers become',
    },
    {
      key: 'maxExpositionBytes',
      check: { kind: 'custom' },
      def: DEFAULT_MAX_EXPOSITION_BYTES,
      type: `bytes ≥ ${MIN_MAX_EXPOSITION_BYTES}`,
      reload: 'backends',
      doc: 'largest /metrics answer; the largest user series are left out past it, counted',
    },
  ],
};

export const PROMETHEUS_KEYS: ReadonlySet<string> = new Set(PROMETHEUS_SECTION.keys.map((k) => k.key));

/** Parse the section; every problem is collected (messages start with `config key 'prometheus.…'`). */
export function parsePrometheusSection(raw: unknown, checkMappingFile: boolean): { config: PrometheusConfig; problems: string[] } {
  const problems: string[] = [];
  const bad = (key: string, expected: string, got: unknown): void => {
    problems.push(`config key 'prometheus.${key}': expected ${expected}, got ${JSON.stringify(got)}`);
  };
  const sec: Record<string, unknown> =
    raw === undefined || raw === null ? {} : typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    problems.push(`config key 'prometheus': expected an object, got ${JSON.stringify(raw)}`);
  }
  for (const k of Object.keys(sec)) {
    if (PROMETHEUS_KEYS.has(k)) continue;
    const near = closestKey(k, PROMETHEUS_KEYS);
    problems.push(
      `config key 'prometheus.${k}': unknown key (${near === undefined ? `known: ${[...PROMETHEUS_KEYS].join(', ')}` : `did you mean 'prometheus.${near}'?`})`,
    );
  }

  let address = DEFAULT_PROMETHEUS_ADDRESS;
  if (sec['address'] !== undefined) {
    if (typeof sec['address'] === 'string' && sec['address'] !== '') address = sec['address'];
    else bad('address', 'a host address string', sec['address']);
  }
  let port = DEFAULT_PROMETHEUS_PORT;
  if (sec['port'] !== undefined) {
    const p = typeof sec['port'] === 'string' && /^\d+$/.test(sec['port']) ? Number(sec['port']) : sec['port'];
    if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) port = p;
    else bad('port', 'an integer from 0 to 65535', sec['port']);
  }
  let path = DEFAULT_PROMETHEUS_PATH;
  if (sec['path'] !== undefined) {
    const v = sec['path'];
    if (typeof v === 'string' && v.startsWith('/') && v !== '/health' && !/[\s?#]/.test(v)) path = v;
    else bad('path', "a URL path starting with '/' (not /health)", v);
  }
  let mappingFile: string | undefined;
  if (sec['mappingFile'] !== undefined && sec['mappingFile'] !== null) {
    const v = sec['mappingFile'];
    if (typeof v !== 'string' || v === '') bad('mappingFile', 'a file path', v);
    else {
      mappingFile = v;
      if (checkMappingFile) {
        const r = readMappingFile(v);
        for (const p of r.problems) problems.push(`config key 'prometheus.mappingFile': ${p}`);
      }
    }
  }
  let ttlMs = DEFAULT_TTL_MS;
  if (sec['ttl'] !== undefined) {
    const v = sec['ttl'];
    const ms = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v * 1000 : typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) bad('ttl', "seconds (a number >= 0) or a duration like '1h'", v);
    else ttlMs = ms;
  }
  const sub: string[] = [];
  const quantiles = readQuantiles(sec['quantiles'], 'quantiles', sub) ?? DEFAULT_QUANTILES;
  if (sub.length > 0) bad('quantiles', 'a list of numbers between 0 and 1', sec['quantiles']);
  sub.length = 0;
  const buckets = readBuckets(sec['buckets'], 'buckets', sub) ?? DEFAULT_BUCKETS;
  if (sub.length > 0) bad('buckets', 'a strictly ascending list of numbers (seconds)', sec['buckets']);
  let observerType: ObserverType = 'summary';
  if (sec['observerType'] !== undefined) {
    const v = sec['observerType'];
    if (v === 'summary' || v === 'histogram') observerType = v;
    else bad('observerType', "'summary' or 'histogram'", v);
  }
  let maxExpositionBytes = DEFAULT_MAX_EXPOSITION_BYTES;
  if (sec['maxExpositionBytes'] !== undefined) {
    const v = sec['maxExpositionBytes'];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= MIN_MAX_EXPOSITION_BYTES) maxExpositionBytes = v;
    else bad('maxExpositionBytes', `an integer number of bytes >= ${MIN_MAX_EXPOSITION_BYTES}`, v);
  }
  return { config: { address, port, path, mappingFile, ttlMs, quantiles, buckets, observerType, maxExpositionBytes }, problems };
}

/**
 * What the core validation cannot check without reading a file: the mapping file named by the section
 * (the section's own keys are checked with the rest of the config, src/config/validate.ts).
 */
export function mappingFileProblems(raw: unknown): string[] {
  const v = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>)['mappingFile'] : undefined;
  if (typeof v !== 'string' || v === '') return [];
  return readMappingFile(v).problems.map((p) => `config key 'prometheus.mappingFile': ${p}`);
}

/** Problems in the `prometheus` config section (and its mapping file). [] when valid. */
export function validatePrometheusConfig(raw: unknown): string[] {
  return parsePrometheusSection(raw, true).problems;
}
