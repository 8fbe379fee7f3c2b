/**
 * --check-config's output: the effective configuration written as a config file would write it, in
 * the file's own key names and shapes (`mgmt_port`, `graphiteHost`, `servers: [{ server, address,
 * port, ... }]`, the `graphite`, `statusPage`, `log` sections...), every default filled in. Written
 * back as a config file and loaded, it gives the same configuration (test/unit/config/effective.test.ts).
 *
 * The keys and their order come from the config schema (./schema.ts): a key with a generic check is
 * written from its `field`, a section key through its section's schema, a list of sections entry by
 * entry. Only the keys whose value TallydConfig does not hold as the file writes it have a writer
 * here (the inverse of their reader in validate.ts): `servers` and the top-level keys folded into
 * each server, `deleteIdleStats`, `prometheus.ttl`. The status page's token is never printed.
 */
import { BUILTIN_BACKENDS } from './defaults.js';
import { isPlainObject, isUnset } from './reader.js';
import { CORE_SECTION, type KeySchema, SECTIONS, type SectionSchema } from './schema.js';
import type { ServerConfig, TallydConfig } from './types.js';
import { KNOWN_KEYS, validateConfig } from './validate.js';

/** What a secret prints as. */
export const REDACTED = '(set)';

/** Keys of a plug-in backend's section (or any key tallyd does not know) whose string value is not printed. */
const SECRET_KEY = /pass(word|wd|phrase)?$|secret|token|api_?key|credential/i;

/** Sections by the path written before their keys ('log.syslog.', 'servers[].'). */
const SECTION_BY_PREFIX: ReadonlyMap<string, SectionSchema> = new Map(SECTIONS.map((s) => [s.prefix, s]));

/** The value at a dotted path ('graphite.host'). */
function valueAt(obj: unknown, path: string): unknown {
  let at = obj;
  for (const part of path.split('.')) at = isPlainObject(at) ? at[part] : undefined;
  return at;
}

/** A top-level server built from `server: <module>` (the whole file is its config), not from `servers`. */
function topLevelModule(config: TallydConfig): ServerConfig | undefined {
  const first = config.servers[0];
  return config.servers.length === 1 && first?.module !== undefined && first.moduleConfig === config.raw ? first : undefined;
}

/** A non-tcp server, which holds the top-level TCP limits as they were read (a tcp entry may have its own). */
const inheritingServer = (config: TallydConfig): ServerConfig | undefined => config.servers.find((s) => s.server !== 'tcp');

/** A file mode as the `socket_mod` key takes it: an octal string. */
const octal = (mode: number): string => `0${mode.toString(8)}`;

/** A `servers[]` entry: the keys that entry accepts for its kind (a module's entry as written: its own config). */
function writeServer(s: ServerConfig): Record<string, unknown> {
  if (s.server === 'module') return redactUnknown('', s.moduleConfig ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { server: s.server, address: s.address, port: s.port, address_ipv6: s.addressIpv6 };
  if (s.server === 'tcp') {
    out.socket = s.socket ?? null;
    out.socket_mod = s.socketMod === undefined ? null : octal(s.socketMod);
    out.max_connections = s.maxConnections;
    out.idle_timeout = s.idleTimeoutMs;
  }
  return out;
}

/** Written from the top-level `server` module's entry when there is one (else `servers` says it all). */
const byTopLevel =
  (read: (s: ServerConfig) => unknown) =>
  (config: TallydConfig): unknown => {
    const s = topLevelModule(config);
    return s === undefined ? undefined : read(s);
  };

/** From a server when there is one (all servers share the value), else the key's default. */
const fromServers =
  (read: (s: ServerConfig) => number, pick: (c: TallydConfig) => ServerConfig | undefined = (c) => c.servers[0]) =>
  (config: TallydConfig, spec: KeySchema): unknown => {
    const s = pick(config);
    return s === undefined ? spec.def : read(s);
  };

type Writer = (config: TallydConfig, spec: KeySchema) => unknown;

/** Top-level keys whose value is not held in TallydConfig as the file writes it. undefined: not written. */
const CORE_WRITERS: Readonly<Record<string, Writer>> = {
  server: byTopLevel((s) => s.module),
  address: byTopLevel((s) => s.address),
  port: byTopLevel((s) => s.port),
  address_ipv6: byTopLevel((s) => s.addressIpv6),
  servers: (config) => (topLevelModule(config) === undefined ? config.servers.map(writeServer) : undefined),
  udpRecvBuffer: fromServers((s) => s.recvBufferBytes),
  tcpMaxLineLength: fromServers((s) => s.maxLineLength),
  tcpMaxConnections: fromServers((s) => s.maxConnections, inheritingServer),
  tcpIdleTimeout: fromServers((s) => s.idleTimeoutMs, inheritingServer),
  // the default of the four delete* keys, which are written too
  deleteIdleStats: (config) => config.deleteCounters && config.deleteTimers && config.deleteGauges && config.deleteSets,
};

/** Section keys likewise, by their full name. */
const SECTION_WRITERS: Readonly<Record<string, (section: Record<string, unknown>) => unknown>> = {
  'statusPage.token': (page) => (page.token === undefined ? null : REDACTED),
  // seconds, or ms when not whole seconds (a duration string)
  'prometheus.ttl': (p) => (typeof p.ttlMs === 'number' && p.ttlMs % 1000 !== 0 ? `${p.ttlMs}ms` : (p.ttlMs as number) / 1000),
};

/** A value of TallydConfig as the file writes it: a section through its schema, a list of sections entry by entry. */
function writeValue(prefix: string, value: unknown): unknown {
  if (value === undefined) return null;
  const section = SECTION_BY_PREFIX.get(`${prefix}.`);
  if (section !== undefined && isPlainObject(value)) return writeSection(section, value);
  const entries = SECTION_BY_PREFIX.get(`${prefix}[].`);
  if (entries !== undefined && Array.isArray(value)) return value.map((v: unknown) => (isPlainObject(v) ? writeSection(entries, v) : v));
  return value;
}

/** A section's keys, from its part of TallydConfig; a key with no field of its own there is left out (e.g. `log.level`: `logLevel` says it). */
function writeSection(section: SectionSchema, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of section.keys) {
    const full = section.prefix + k.key;
    const write = SECTION_WRITERS[full];
    if (write !== undefined) {
      out[k.key] = write(obj);
      continue;
    }
    const name = k.field ?? k.key;
    if (!(name in obj)) continue;
    out[k.key] = writeValue(full, obj[name]);
  }
  return out;
}

/** A top-level key's value as the file writes it; undefined: the key is not written. */
function writeCoreKey(config: TallydConfig, spec: KeySchema): unknown {
  const write = CORE_WRITERS[spec.key];
  if (write !== undefined) return write(config, spec);
  if (spec.check.kind === 'by') return undefined;
  if (spec.field !== undefined) return writeValue(spec.key, valueAt(config, spec.field));
  // a key TallydConfig does not keep (debugInterval, accepted for compatibility): as written, else its default
  const raw = config.raw[spec.key];
  return isUnset(raw) ? spec.def : raw;
}

/** A key of a plug-in backend's section, or any key tallyd does not know, with secrets hidden. */
function redactUnknown(key: string, value: unknown): unknown {
  if (typeof value === 'string' && SECRET_KEY.test(key)) return REDACTED;
  if (Array.isArray(value)) return value.map((v: unknown) => redactUnknown(key, v));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUnknown(k, v)]));
  return value;
}

const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_BACKENDS);

function coreObject(config: TallydConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of CORE_SECTION.keys) {
    const v = writeCoreKey(config, spec);
    if (v !== undefined) out[spec.key] = v;
  }
  return out;
}

let defaultObject: Record<string, unknown> | undefined;

/**
 * The effective configuration as a config file's object: every key of the schema in its order, with
 * its value (null: unset), then the keys tallyd does not know (a plug-in backend's section), as
 * written. A built-in backend's own key (`graphite`, `console`, `prometheus`, `repeater`) is left out
 * when that backend is not configured and the key holds its default.
 */
export function effectiveConfigObject(config: TallydConfig): Record<string, unknown> {
  defaultObject ??= coreObject(validateConfig({}).config);
  const out = coreObject(config);
  for (const key of Object.keys(out)) {
    if (BUILTIN.has(key) && !config.backends.includes(key) && JSON.stringify(out[key]) === JSON.stringify(defaultObject[key]))
      delete out[key];
  }
  for (const [key, value] of Object.entries(config.raw)) {
    if (!KNOWN_KEYS.has(key)) out[key] = redactUnknown(key, value);
  }
  return out;
}

/** --check-config's JSON: {@link effectiveConfigObject}, indented; Infinity (a histogram's last bin) prints as 'inf', as the file writes it. */
export function describeEffectiveConfig(config: TallydConfig): string {
  return JSON.stringify(effectiveConfigObject(config), (_key, value: unknown) => (value === Infinity ? 'inf' : value), 2);
}
