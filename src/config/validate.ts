/**
 * Validation: a raw config object (as read from an original-style file, placeholders expanded) →
 * the frozen TallydConfig, read through the config schema (./schema.ts): a key with a generic check
 * is read as the schema says, a `custom` one by its reader (./readers.ts). Every problem is collected
 * before refusing (one ConfigError lists them all); unknown keys are warnings. Covers every documented
 * key of the original daemon and of its graphite, console and repeater backends, plus tallyd's own keys.
 */

import { parsePrometheusSection } from '../backends/prometheus/config.js';
import { ConfigError } from '../errors.js';
import { deepFreeze } from './defaults.js';
import { readServers } from './read-servers.js';
import { isPlainObject, isUnset, Reader, unknownKeyMessage } from './reader.js';
import {
  backendSectionNames,
  checkStatusPage,
  readBackends,
  readCalculatedTimerMetrics,
  readGaugesMaxTTL,
  readHistogram,
  readKeyFlushPercent,
  readLogConfig,
  readLogLevel,
  readPercentThreshold,
  readRepeater,
  readTitle,
} from './readers.js';
import {
  CONSOLE_SECTION,
  CORE_SECTION,
  coreKey,
  GRAPHITE_SECTION,
  HISTOGRAM_SECTION,
  KEY_FLUSH_SECTION,
  type KeySchema,
  keysOf,
  LOG_SECTION,
  REPEATER_TARGET_SECTION,
  SERVER_SECTION,
  type SectionSchema,
  STATUS_PAGE_SECTION,
  SYSLOG_SECTION,
} from './schema.js';
import type { TallydConfig } from './types.js';

export { normaliseServerName } from './read-servers.js';
export { describeValue, unknownKeyMessage } from './reader.js';
export { configuredBackends, isLoopbackAddress, normaliseBackendName } from './readers.js';

/** Top-level keys this module reads (or accepts and ignores): the schema's (src/config/schema.ts). */
export const KNOWN_KEYS: ReadonlySet<string> = keysOf(CORE_SECTION);
export const GRAPHITE_KEYS: ReadonlySet<string> = keysOf(GRAPHITE_SECTION);
export const SERVER_KEYS: ReadonlySet<string> = keysOf(SERVER_SECTION);
export const KEY_FLUSH_KEYS: ReadonlySet<string> = keysOf(KEY_FLUSH_SECTION);
export const STATUS_PAGE_KEYS: ReadonlySet<string> = keysOf(STATUS_PAGE_SECTION);
export const LOG_KEYS: ReadonlySet<string> = keysOf(LOG_SECTION);
export const SYSLOG_KEYS: ReadonlySet<string> = keysOf(SYSLOG_SECTION);
export const HISTOGRAM_KEYS: ReadonlySet<string> = keysOf(HISTOGRAM_SECTION);
export const REPEATER_TARGET_KEYS: ReadonlySet<string> = keysOf(REPEATER_TARGET_SECTION);
export const CONSOLE_KEYS: ReadonlySet<string> = keysOf(CONSOLE_SECTION);

export interface ValidationResult {
  config: TallydConfig;
  warnings: string[];
}

/** A key with a generic check (bool, int, port, str, optStr, oneOf), named `name` in messages. */
function readGeneric(r: Reader, name: string, spec: KeySchema, value: unknown): unknown {
  const c = spec.check;
  switch (c.kind) {
    case 'bool':
      return r.bool(name, value, spec.def as boolean);
    case 'int':
      return r.int(name, value, spec.def as number, c.min, c.max, c.expected);
    case 'port':
      return r.port(name, value, spec.def as number, c.allowZero);
    case 'str':
      return r.str(name, value, spec.def as string, { nonEmpty: c.nonEmpty === true });
    case 'optStr':
      return r.optStr(name, value);
    case 'oneOf':
      return r.oneOf(name, value, spec.def as string, c.values, c.expected);
    default:
      throw new Error(`config schema: key '${name}' has no generic check (${c.kind})`);
  }
}

/** Readers of section keys whose check is `custom`, by their full name. */
const SECTION_READERS: Readonly<Record<string, (r: Reader, value: unknown) => unknown>> = {
  'keyFlush.percent': readKeyFlushPercent,
};

/** Checks run on a section once its keys are read (they may add fields), by the section's key. */
const SECTION_CHECKS: Readonly<Record<string, (r: Reader, out: Record<string, unknown>, value: unknown) => void>> = {
  statusPage: checkStatusPage,
};

/** A nested section, key by key through its schema; unknown keys are warnings. */
function readSection(r: Reader, section: SectionSchema, value: unknown): Record<string, unknown> {
  const name = section.prefix.slice(0, -1);
  const obj = r.section(name, value);
  r.unknownKeys(obj, keysOf(section), section.prefix);
  const out: Record<string, unknown> = {};
  for (const k of section.keys) {
    const full = section.prefix + k.key;
    const read = SECTION_READERS[full];
    out[k.field ?? k.key] = k.check.kind === 'custom' && read !== undefined ? read(r, obj[k.key]) : readGeneric(r, full, k, obj[k.key]);
  }
  SECTION_CHECKS[name]?.(r, out, value);
  return out;
}

/**
 * Reads the top level through the schema: each key once, in the schema's order, a key another depends
 * on when that one asks for it (so problems come out in reading order).
 */
class CoreReader {
  private readonly values = new Map<string, unknown>();

  constructor(
    readonly r: Reader,
    readonly raw: Record<string, unknown>,
    readonly file: string | undefined,
  ) {}

  get<T>(key: string): T {
    if (this.values.has(key)) return this.values.get(key) as T;
    const spec = coreKey(key);
    if (spec === undefined) throw new Error(`config schema: no key '${key}'`);
    const value = this.read(spec);
    this.values.set(key, value);
    return value as T;
  }

  private read(spec: KeySchema): unknown {
    const c = spec.check;
    const value = this.raw[spec.key];
    switch (c.kind) {
      case 'by':
        return undefined;
      case 'section':
        return readSection(this.r, c.section, value);
      case 'custom': {
        const read = CORE_READERS[spec.key];
        if (read === undefined) throw new Error(`config schema: key '${spec.key}' has no reader in validate.ts`);
        return read(this);
      }
      default:
        return readGeneric(this.r, spec.key, spec, value);
    }
  }
}

/** Readers of the top-level keys whose check is `custom`. */
const CORE_READERS: Readonly<Record<string, (c: CoreReader) => unknown>> = {
  servers: (c) =>
    readServers(
      c.r,
      c.raw,
      c.get('udpRecvBuffer'),
      c.get('tcpMaxLineLength'),
      { maxConnections: c.get('tcpMaxConnections'), idleTimeoutMs: c.get('tcpIdleTimeout') },
      c.file,
    ),
  percentThreshold: (c) => readPercentThreshold(c.r, c.raw.percentThreshold),
  deleteCounters: (c) => c.r.bool('deleteCounters', c.raw.deleteCounters, c.get<boolean>('deleteIdleStats')),
  deleteTimers: (c) => c.r.bool('deleteTimers', c.raw.deleteTimers, c.get<boolean>('deleteIdleStats')),
  deleteGauges: (c) => c.r.bool('deleteGauges', c.raw.deleteGauges, c.get<boolean>('deleteIdleStats')),
  deleteSets: (c) => c.r.bool('deleteSets', c.raw.deleteSets, c.get<boolean>('deleteIdleStats')),
  gaugesMaxTTL: (c) => readGaugesMaxTTL(c.r, c.raw.gaugesMaxTTL),
  calculatedTimerMetrics: (c) => readCalculatedTimerMetrics(c.r, c.raw.calculatedTimerMetrics),
  histogram: (c) => readHistogram(c.r, c.raw.histogram),
  debugInterval: (c) => {
    if (!isUnset(c.raw.debugInterval)) c.r.int('debugInterval', c.raw.debugInterval, 10_000, 1, 2 ** 31 - 1, 'a positive integer (ms)');
    return undefined;
  },
  backends: (c) => readBackends(c.r, c.raw.backends, c.get('graphiteHost')),
  title: (c) => readTitle(c.r, c.raw.title),
  logLevel: (c) => readLogLevel(c.r, c.raw, c.get('debug')),
  log: (c) => readLogConfig(c.r, c.raw),
  repeater: (c) => readRepeater(c.r, c.raw.repeater),
  // the section is read whole by the prometheus backend's schema (./config.ts there); its problems count
  // only when the backend is configured (else a warning says the section is unused)
  prometheus: (c) => {
    const value = c.raw.prometheus;
    const isObject = isPlainObject(value);
    if (!isUnset(value) && !isObject) c.r.problem('prometheus', 'an object', value);
    const { config, problems } = parsePrometheusSection(isObject ? value : undefined, false);
    if (c.get<string[]>('backends').includes('prometheus')) for (const p of problems) c.r.problems.push(p);
    return config;
  },
};

/** Sets `value` at a dotted path of `out` ('graphite.host'); an object merges into one already there. */
function setPath(out: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = out;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(at[part])) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1]!;
  if (isPlainObject(value) && isPlainObject(at[last])) Object.assign(at[last] as Record<string, unknown>, value);
  else at[last] = value;
}

/**
 * Validate a raw config object and build the frozen TallydConfig, every default applied (no field is
 * left unset for consumers to default). `raw` itself is frozen and kept as `config.raw` (pass a copy if
 * the caller keeps using it). Throws ConfigError listing every problem.
 */
export function validateConfig(raw: Record<string, unknown>, file?: string): ValidationResult {
  const r = new Reader();
  const core = new CoreReader(r, raw, file);
  const built: Record<string, unknown> = {};
  for (const spec of CORE_SECTION.keys) {
    const value = core.get(spec.key);
    if (spec.field !== undefined) setPath(built, spec.field, value);
  }
  built.configFile = file;
  built.raw = raw;
  const config = built as unknown as TallydConfig;
  const backends = config.backends;
  const graphite = config.graphite;
  const repeater = config.repeater;

  // Unknown top-level keys: warnings, except object sections named like a configured backend.
  const sections = backendSectionNames(backends);
  for (const key of Object.keys(raw)) {
    if (KNOWN_KEYS.has(key)) continue;
    if (sections.has(key) && isPlainObject(raw[key])) continue;
    r.warn(unknownKeyMessage('', key, KNOWN_KEYS));
  }
  // A section (or key) for a backend that is not loaded does nothing: say so, naming it.
  const unused = (what: string, backend: string): void => {
    r.warn(`${what} is set but the '${backend}' backend is not in 'backends': it is ignored (add '${backend}' to 'backends')`);
  };
  // (the original's keys above stay warnings, as the original ignores them; tallyd's own prometheus section is
  // a mistake whichever way it is read: a problem)
  if (isPlainObject(raw.prometheus) && !backends.includes('prometheus')) {
    r.problems.push(
      "config section 'prometheus' is set but the 'prometheus' backend is not in 'backends': add 'prometheus' to 'backends' (or --prometheus-port), or remove the section",
    );
  }
  if (isPlainObject(raw.graphite) && Object.keys(raw.graphite).length > 0 && !backends.includes('graphite'))
    unused("config section 'graphite'", 'graphite');
  if (graphite.host !== undefined && !backends.includes('graphite')) unused("config key 'graphiteHost'", 'graphite');
  if (repeater.length > 0 && !backends.includes('repeater')) unused("config key 'repeater'", 'repeater');
  if (backends.includes('graphite') && graphite.host === undefined) {
    r.warn("backend 'graphite' is configured but 'graphiteHost' is not set: nothing will be sent to Graphite");
  }
  if (backends.includes('repeater') && repeater.length === 0) {
    r.warn("backend 'repeater' is configured but 'repeater' lists no targets");
  }

  if (Array.isArray(raw.nodes)) {
    // the original's proxy config (proxy.js): run as an aggregator it would forward nothing
    r.note(
      'nodes',
      "this is a proxy configuration (the original's proxy.js: nodes, checkInterval, ...); run it with `tallyd proxy <file>`",
    );
  }
  if (r.problems.length > 0) throw new InvalidConfigError(r.problems, r.warnings);
  return { config: deepFreeze(config), warnings: r.warnings };
}

/** validateConfig's refusal: the problems, and the warnings found in the same pass (an unknown key's 'did you mean'). */
export class InvalidConfigError extends ConfigError {
  constructor(
    problems: readonly string[],
    readonly warnings: readonly string[],
  ) {
    super(problems);
  }
}
