/**
 * Loading: read an original-style config file (a JavaScript object literal: comments, unquoted
 * keys, single quotes, trailing and leading commas) or JSON, without running it (json5); expand the
 * placeholders that stand in for the original's code values; apply command-line overrides; validate
 * and freeze. `--allow-js-config` evaluates the file as the original does, in a child process with a
 * hard time limit (./jsconfig.ts; opt-in, for files that cannot be changed). `__proto__`,
 * `constructor` and `prototype` keys are refused at any depth (./safekeys.ts).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as vm from 'node:vm';
import JSON5 from 'json5';
import { ConfigError } from '../errors.js';
import { DEFAULT_GRAPHITE_PORT, EMBEDDED_DEFAULT_CONFIG } from './defaults.js';
import { evaluateJsConfigAsync, evaluateJsConfigSync } from './jsconfig.js';
import { forbiddenKeyProblems } from './safekeys.js';
import type { TallydConfig } from './types.js';
import { configuredBackends, InvalidConfigError, normaliseBackendName, normaliseServerName, validateConfig } from './validate.js';

export { EMBEDDED_DEFAULT_CONFIG };

/** Values from the command line; each replaces the matching config key. */
export interface ConfigOverrides {
  port?: number;
  address?: string;
  mgmtPort?: number;
  mgmtAddress?: string;
  flushInterval?: number;
  graphiteHost?: string;
  graphitePort?: number;
  logLevel?: string;
  backends?: string[];
  reservoirSize?: number;
  /** --workers */
  workers?: number;
  /** --prometheus-* flags: merged into the `prometheus` section; they add the prometheus backend. */
  prometheus?: { address?: string; port?: number; path?: string; mappingFile?: string };
}

function messageOf(err: unknown): string {
  // errors thrown inside node:vm come from another realm: no instanceof Error
  const m = (err as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(err);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Read and parse a config file (original-style JS object literal or JSON). Throws ConfigError. */
export function readConfigFile(path: string, opts: { allowJs?: boolean } = {}): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${messageOf(err)}`, { cause: err });
  }
  return parseConfigText(text, path, opts);
}

/**
 * As {@link readConfigFile}, without blocking the event loop (reloads): the file is read, and an
 * --allow-js-config file evaluated, asynchronously.
 */
export async function readConfigFileAsync(path: string, opts: { allowJs?: boolean } = {}): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${messageOf(err)}`, { cause: err });
  }
  const body = configBody(text);
  if (opts.allowJs === true) return checkParsed(await evaluateJsConfigAsync(body, path), path);
  return parseConfigText(text, path, opts);
}

/**
 * The text to parse: without a BOM and without one trailing ';'. Keep the start as is so json5's line
 * numbers match the file; the original evals `config = <file>`, so a trailing ';' is legal there.
 */
function configBody(text: string): string {
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  body = body.trimEnd();
  if (body.endsWith(';')) body = body.slice(0, -1);
  return body;
}

/** Parse the text of a config file; `name` is used in messages. Throws ConfigError. */
export function parseConfigText(text: string, name: string, opts: { allowJs?: boolean } = {}): Record<string, unknown> {
  const body = configBody(text);
  let parsed: unknown;
  if (opts.allowJs === true) {
    parsed = evaluateJsConfigSync(body, name);
  } else {
    try {
      parsed = JSON5.parse(body);
    } catch (err) {
      throw json5Error(err, body, name);
    }
  }
  return checkParsed(parsed, name);
}

/** A parsed file must be an object, without `__proto__`, `constructor` or `prototype` keys at any depth. */
function checkParsed(parsed: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(parsed)) {
    throw new ConfigError(
      `${name}: expected an object literal ({ ... }) at the top level, got ${Array.isArray(parsed) ? 'a list' : typeof parsed}`,
    );
  }
  const forbidden = forbiddenKeyProblems(parsed);
  if (forbidden.length > 0) throw new ConfigError(forbidden.map((p) => `${name}: ${p}`));
  return parsed;
}

function json5Error(err: unknown, body: string, name: string): ConfigError {
  const e = err as { lineNumber?: number; columnNumber?: number };
  const where = typeof e.lineNumber === 'number' ? `${name}:${e.lineNumber}:${e.columnNumber ?? 0}` : name;
  const reason = messageOf(err)
    .replace(/^JSON5: /, '')
    .replace(/ at \d+:\d+$/, '');
  if (compilesAsJavaScript(body)) {
    return new ConfigError(
      `${where}: ${reason}: the file seems to contain code, which tallyd does not run by default. ` +
        'Replace computed values with placeholders (${HOSTNAME}, ${HOSTNAME_SHORT}, ${ENV:NAME}), ' +
        'or pass --allow-js-config to evaluate the file as the original statsd does.',
      { cause: err },
    );
  }
  return new ConfigError(`${where}: syntax error: ${reason}`, { cause: err });
}

/** True when the text is a valid JavaScript expression (compiled only, never run). */
function compilesAsJavaScript(body: string): boolean {
  try {
    new vm.Script(`(\n${body}\n)`);
    return true;
  } catch {
    return false;
  }
}

export interface PlaceholderContext {
  env: Readonly<Record<string, string | undefined>>;
  hostname: string;
}

/**
 * Expand `${HOSTNAME}`, `${HOSTNAME_SHORT}` (up to the first '.') and `${ENV:NAME}` in every string
 * value; `$${` stands for a literal `${`. Returns a deep copy. A missing environment variable is a
 * problem naming the key (the key is then dropped, so it is not reported twice); an unknown
 * placeholder is a warning and left as written.
 */
export function expandPlaceholders(value: unknown, ctx: PlaceholderContext, problems: string[], warnings: string[], path = ''): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    let missing = false;
    const out = value.replace(/\$?\$\{([^}]*)\}/g, (match: string, inner: string) => {
      if (match.startsWith('$$')) return match.slice(1);
      if (inner === 'HOSTNAME') return ctx.hostname;
      if (inner === 'HOSTNAME_SHORT') {
        const dot = ctx.hostname.indexOf('.');
        return dot === -1 ? ctx.hostname : ctx.hostname.slice(0, dot);
      }
      if (inner.startsWith('ENV:')) {
        const envName = inner.slice(4);
        const v = ctx.env[envName];
        if (v === undefined) {
          problems.push(`config key '${path}': environment variable '${envName}' is not set (placeholder ${match})`);
          missing = true;
          return '';
        }
        return v;
      }
      warnings.push(
        `config key '${path}': unknown placeholder ${match} (left as written; known: \${HOSTNAME}, \${HOSTNAME_SHORT}, \${ENV:NAME})`,
      );
      return match;
    });
    return missing ? undefined : out;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => expandPlaceholders(v, ctx, problems, warnings, `${path}[${i}]`));
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = expandPlaceholders(value[key], ctx, problems, warnings, path === '' ? key : `${path}.${key}`);
      if (v !== undefined) out[key] = v;
    }
    return out;
  }
  return value;
}

/** Write the command-line overrides into the (already copied) raw object. */
function applyOverrides(raw: Record<string, unknown>, o: ConfigOverrides, problems: string[]): void {
  if (o.port !== undefined || o.address !== undefined) {
    if (Array.isArray(raw.servers)) {
      // With `servers`, --port/--address apply to the first UDP server.
      const i = raw.servers.findIndex(
        (s: unknown) =>
          isPlainObject(s) && (s.server === undefined || (typeof s.server === 'string' && normaliseServerName(s.server) === 'udp')),
      );
      if (i === -1) {
        problems.push("--port/--address: the config's 'servers' list has no udp server to apply them to");
      } else {
        const servers = [...(raw.servers as unknown[])];
        const server = { ...(servers[i] as Record<string, unknown>) };
        if (o.port !== undefined) server.port = o.port;
        if (o.address !== undefined) server.address = o.address;
        servers[i] = server;
        raw.servers = servers;
      }
    } else {
      if (o.port !== undefined) raw.port = o.port;
      if (o.address !== undefined) raw.address = o.address;
    }
  }
  if (o.mgmtPort !== undefined) raw.mgmt_port = o.mgmtPort;
  if (o.mgmtAddress !== undefined) raw.mgmt_address = o.mgmtAddress;
  if (o.flushInterval !== undefined) raw.flushInterval = o.flushInterval;
  if (o.graphiteHost !== undefined) {
    raw.graphiteHost = o.graphiteHost;
    raw.graphitePort = o.graphitePort ?? DEFAULT_GRAPHITE_PORT;
  } else if (o.graphitePort !== undefined) {
    raw.graphitePort = o.graphitePort;
  }
  if (o.backends !== undefined) raw.backends = [...o.backends];
  // -g asks for Graphite: the backend is added to the list (the file's or --backend's), as --help says.
  if (o.graphiteHost !== undefined) addBackend(raw, 'graphite');
  if (o.logLevel !== undefined) raw.logLevel = o.logLevel;
  if (o.reservoirSize !== undefined) raw.reservoirSize = o.reservoirSize;
  if (o.workers !== undefined) raw.workers = o.workers;
  if (o.prometheus !== undefined) {
    const section = isPlainObject(raw.prometheus) ? raw.prometheus : {};
    raw.prometheus = { ...section, ...o.prometheus };
    // a --prometheus-* flag adds the prometheus backend, also beside --backend (as --help says)
    addBackend(raw, 'prometheus');
  }
}

/**
 * Add a built-in backend to `raw.backends` unless it is there. Without a list, the default applies
 * first (graphite when graphiteHost is set, else console), as the original's.
 */
function addBackend(raw: Record<string, unknown>, name: string): void {
  if (raw.backends !== undefined && raw.backends !== null && !Array.isArray(raw.backends)) return; // reported by validation
  const listed = Array.isArray(raw.backends) ? (raw.backends as unknown[]) : undefined;
  if (listed?.some((b: unknown) => typeof b === 'string' && normaliseBackendName(b) === name)) return;
  const base = listed ?? [raw.graphiteHost !== undefined && raw.graphiteHost !== null && raw.graphiteHost !== '' ? 'graphite' : 'console'];
  raw.backends = [...base, name];
}

/** What a backend's own checks see: the backend names, the raw config (placeholders expanded), the file. */
export interface BackendView {
  readonly backends: readonly string[];
  readonly raw: Readonly<Record<string, unknown>>;
  readonly configFile: string | undefined;
}

/** Checks of what the core config cannot know (backends exist, their sections); see backends/registry. */
export type BackendCheck = (view: BackendView) => string[];

/**
 * Raw config (from readConfigFile or EMBEDDED_DEFAULT_CONFIG) + overrides → the frozen TallydConfig.
 * `raw` is not modified. Throws ConfigError listing every problem (placeholders, overrides, values, and
 * with `checkBackends` the backends' own: unknown names, their sections).
 */
export function buildConfig(
  raw: Record<string, unknown>,
  overrides: ConfigOverrides = {},
  file?: string,
  ctx: PlaceholderContext = { env: process.env, hostname: os.hostname() },
  checkBackends?: BackendCheck,
): { config: TallydConfig; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const expanded = expandPlaceholders(raw, ctx, problems, warnings) as Record<string, unknown>;
  applyOverrides(expanded, overrides, problems);
  let result: ReturnType<typeof validateConfig> | undefined;
  try {
    result = validateConfig(expanded, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
    if (err instanceof InvalidConfigError) warnings.push(...err.warnings);
  }
  // the backends' own checks run whether or not the core keys are valid: every problem in one pass
  if (checkBackends !== undefined) {
    problems.push(...checkBackends({ backends: result?.config.backends ?? configuredBackends(expanded), raw: expanded, configFile: file }));
  }
  if (result !== undefined) warnings.push(...result.warnings);
  // with the unknown keys (a misspelt key's 'did you mean'), so that one run shows everything to fix;
  // not the other warnings, which follow from values the problems may have left at their defaults
  if (problems.length > 0 || result === undefined) {
    throw new ConfigError([...problems, ...warnings.filter((w) => w.startsWith('unknown config key')).map((w) => `warning: ${w}`)]);
  }
  return { config: result.config, warnings };
}

/** Top-level keys TallydConfig interprets as sections (not echoed again by describeConfig). */
const INTERPRETED_SECTIONS: ReadonlySet<string> = new Set([
  'graphite',
  'console',
  'keyFlush',
  'log',
  'servers',
  'histogram',
  'repeater',
  'statusPage',
]);

/**
 * The loaded configuration as pretty JSON in TallydConfig's own field names, token included (a reload
 * compares two of them to see whether anything changed); Infinity bins print as 'inf'. --check-config
 * prints the file's key names instead (./effective.ts describeEffectiveConfig).
 */
export function describeConfig(config: TallydConfig): string {
  const { raw, ...rest } = config;
  const sections: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (isPlainObject(value) && !INTERPRETED_SECTIONS.has(key)) sections[key] = value;
  }
  const view = { ...rest, configFile: config.configFile ?? '(built-in default)', sections };
  return JSON.stringify(
    view,
    (_key, value: unknown) => {
      if (value === undefined) return null;
      if (value === Infinity) return 'inf';
      return value;
    },
    2,
  );
}

/**
 * The admin `config` command's output, as the original's helpers.writeConfig writes it: a blank
 * line, then `key: value` per top-level key, and `key > sub: value` for each entry of an object
 * or list (one level deep; deeper values print as JavaScript's String() does).
 */
export function writeConfigLines(raw: Record<string, unknown>): string {
  let out = '\n';
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (typeof value !== 'object') {
      out += `${key}: ${String(value)}\n`;
      continue;
    }
    if (value === null) continue; // the original's for-in over null writes nothing
    for (const sub of Object.keys(value)) {
      out += `${key} > ${sub}: ${String((value as Record<string, unknown>)[sub])}\n`;
    }
  }
  return out;
}
