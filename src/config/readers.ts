import { existsSync } from 'node:fs';
import { MAX_UNIX_PATH_BYTES, unixDgramProblem } from '../log/unix-dgram.js';
import {
  BUILTIN_BACKENDS,
  DEFAULT_GAUGES_MAX_TTL,
  DEFAULT_KEY_FLUSH_PERCENT,
  DEFAULT_LOG_APPLICATION,
  DEFAULT_LOG_LEVEL,
  DEFAULT_PERCENT_THRESHOLD,
  DEFAULT_SYSLOG_DGRAM,
  DEFAULT_SYSLOG_HOST,
  DEFAULT_SYSLOG_PORT,
  DEFAULT_TITLE,
  MAX_PERCENT_THRESHOLDS,
  PINO_LEVELS,
  TIMER_METRIC_NAMES,
} from './defaults.js';
import { describeValue, isPlainObject, isUnset, Reader, toNumber } from './reader.js';
import { HISTOGRAM_SECTION, keysOf, LOG_SECTION, REPEATER_TARGET_SECTION, SYSLOG_SECTION } from './schema.js';
import type { HistogramRule, LogConfig, RepeaterTarget } from './types.js';

const LOG_KEYS = keysOf(LOG_SECTION);
const SYSLOG_KEYS = keysOf(SYSLOG_SECTION);
const HISTOGRAM_KEYS = keysOf(HISTOGRAM_SECTION);
const REPEATER_TARGET_KEYS = keysOf(REPEATER_TARGET_SECTION);

/** The original's syslog level names (log.level) → pino levels. */
const SYSLOG_LEVELS: Readonly<Record<string, string>> = {
  LOG_EMERG: 'fatal',
  LOG_ALERT: 'fatal',
  LOG_CRIT: 'fatal',
  LOG_ERR: 'error',
  LOG_WARNING: 'warn',
  LOG_NOTICE: 'info',
  LOG_INFO: 'info',
  LOG_DEBUG: 'debug',
};

/** './backends/graphite', 'backends/graphite.js', 'graphite' → 'graphite' (the built-in ones); others as written. */
export function normaliseBackendName(name: string): string {
  let n = name.trim();
  if (n.endsWith('.js')) n = n.slice(0, -3);
  if (n.startsWith('./')) n = n.slice(2);
  if (n.startsWith('backends/')) n = n.slice('backends/'.length);
  return BUILTIN_BACKENDS.includes(n) ? n : name.trim();
}

/** Section names a configured backend may use for its own settings (kept in raw, not warned about). */
export function backendSectionNames(backends: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const b of backends) {
    names.add(b);
    const last = b.slice(b.lastIndexOf('/') + 1).replace(/\.js$/, '');
    names.add(last);
    // e.g. 'statsd-influxdb-backend' → 'influxdb'
    names.add(last.replace(/^statsd-/, '').replace(/-backend$/, ''));
  }
  return names;
}

export function readPercentThreshold(r: Reader, value: unknown): number[] {
  if (isUnset(value)) return [...DEFAULT_PERCENT_THRESHOLD];
  const items = Array.isArray(value) ? value : [value];
  if (items.length > MAX_PERCENT_THRESHOLDS) {
    r.note('percentThreshold', `expected at most ${MAX_PERCENT_THRESHOLDS} thresholds, got a list of ${items.length}`);
    return [...DEFAULT_PERCENT_THRESHOLD];
  }
  const out: number[] = [];
  items.forEach((item, i) => {
    const n = toNumber(item);
    if (n === undefined || !Number.isFinite(n) || n === 0 || n < -100 || n > 100) {
      const key = Array.isArray(value) ? `percentThreshold[${i}]` : 'percentThreshold';
      r.problem(key, 'a non-zero number between -100 and 100 (or a list of them)', item);
      return;
    }
    out.push(n);
  });
  return out;
}

export function readHistogram(r: Reader, value: unknown): HistogramRule[] {
  const list = r.list('histogram', value, "a list of { metric: string, bins: [numbers..., 'inf'] }");
  if (list === undefined) return [];
  const rules: HistogramRule[] = [];
  list.forEach((entry, i) => {
    const at = `histogram[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(at, "an object like { metric: 'render', bins: [0.01, 0.1, 1, 'inf'] }", entry);
      return;
    }
    r.unknownKeys(entry, HISTOGRAM_KEYS, `${at}.`);
    if (typeof entry.metric !== 'string') r.problem(`${at}.metric`, 'a string (matched against timer names)', entry.metric);
    const rawBins = entry.bins;
    if (!Array.isArray(rawBins)) {
      r.problem(`${at}.bins`, "a list of ascending numbers, optionally ending with 'inf'", rawBins);
      return;
    }
    const bins: number[] = [];
    let ok = true;
    rawBins.forEach((b: unknown, j: number) => {
      const n = b === 'inf' ? Infinity : typeof b === 'number' && !Number.isNaN(b) ? b : undefined;
      if (n === undefined) {
        r.problem(`${at}.bins[${j}]`, "a number or 'inf'", b);
        ok = false;
        return;
      }
      if (bins.length > 0 && n <= bins[bins.length - 1]!) {
        r.problem(`${at}.bins[${j}]`, `a bound greater than the previous one (${describeValue(rawBins[j - 1])}): bins must ascend`, b);
        ok = false;
      }
      bins.push(n);
    });
    if (ok && typeof entry.metric === 'string') rules.push({ metric: entry.metric, bins });
  });
  return rules;
}

export function readCalculatedTimerMetrics(r: Reader, value: unknown): string[] | null {
  const list = r.list('calculatedTimerMetrics', value, 'a list of timer metric names');
  if (list === undefined) return null;
  const out: string[] = [];
  list.forEach((item, i) => {
    if (typeof item !== 'string') {
      r.problem(`calculatedTimerMetrics[${i}]`, 'a timer metric name (string)', item);
      return;
    }
    if (!TIMER_METRIC_NAMES.includes(item)) {
      r.warn(`config key 'calculatedTimerMetrics': unknown timer metric '${item}' (known: ${TIMER_METRIC_NAMES.join(', ')})`);
    }
    out.push(item);
  });
  return out;
}

/** The backend names a raw config asks for (well-formed entries only), as validateConfig reads them. */
export function configuredBackends(raw: Record<string, unknown>): string[] {
  const host = typeof raw.graphiteHost === 'string' && raw.graphiteHost !== '' ? raw.graphiteHost : undefined;
  return readBackends(new Reader(), raw.backends, host);
}

export function readBackends(r: Reader, value: unknown, graphiteHost: string | undefined): string[] {
  const list = r.list('backends', value, "a list of backend names, e.g. ['./backends/graphite']");
  if (list === undefined) return graphiteHost !== undefined ? ['graphite'] : ['console'];
  const out: string[] = [];
  list.forEach((item, i) => {
    if (typeof item !== 'string' || item.trim() === '') {
      r.problem(`backends[${i}]`, 'a backend name (string)', item);
      return;
    }
    const name = normaliseBackendName(item);
    if (out.includes(name)) {
      r.warn(`config key 'backends': backend '${name}' is listed twice (loaded once)`);
      return;
    }
    out.push(name);
  });
  if (list.length === 0) r.warn("config key 'backends' is an empty list: metrics are aggregated but sent nowhere");
  return out;
}

export function readRepeater(r: Reader, value: unknown): RepeaterTarget[] {
  const list = r.list('repeater', value, 'a list of { host, port }');
  if (list === undefined) return [];
  const out: RepeaterTarget[] = [];
  list.forEach((entry, i) => {
    const at = `repeater[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(at, "an object like { host: '10.0.0.1', port: 8125 }", entry);
      return;
    }
    r.unknownKeys(entry, REPEATER_TARGET_KEYS, `${at}.`);
    const before = r.problems.length;
    if (typeof entry.host !== 'string' || entry.host === '') r.problem(`${at}.host`, 'a host name or address', entry.host);
    let port = -1;
    if (isUnset(entry.port)) r.problem(`${at}.port`, 'a port number (1..65535)', entry.port);
    else port = r.port(`${at}.port`, entry.port, -1, false);
    if (r.problems.length === before) out.push({ host: entry.host as string, port });
  });
  return out;
}

/** gaugesMaxTTL: an integer > 1, anything else is 1 (as the original forces it). */
export function readGaugesMaxTTL(r: Reader, value: unknown): number {
  if (isUnset(value)) return DEFAULT_GAUGES_MAX_TTL;
  if (typeof value === 'number' && Number.isInteger(value) && value > 1) return value;
  if (value !== 1) r.warn(`config key 'gaugesMaxTTL': ${describeValue(value)} is not an integer > 1, using 1 (as the original does)`);
  return DEFAULT_GAUGES_MAX_TTL;
}

export function readLogLevel(r: Reader, raw: Record<string, unknown>, debug: boolean): string {
  const log = r.section('log', raw.log);
  r.unknownKeys(log, LOG_KEYS, 'log.');
  let fromLogSection: string | undefined;
  if (!isUnset(log.level)) {
    if (typeof log.level === 'string' && PINO_LEVELS.includes(log.level)) fromLogSection = log.level;
    else if (typeof log.level === 'string' && SYSLOG_LEVELS[log.level] !== undefined) fromLogSection = SYSLOG_LEVELS[log.level];
    else r.warn(`config key 'log.level': ${describeValue(log.level)} is not a known level (ignored)`);
  }
  const fallback = fromLogSection ?? (debug ? 'debug' : DEFAULT_LOG_LEVEL);
  return r.oneOf('logLevel', raw.logLevel, fallback, PINO_LEVELS);
}

/** What the syslog default depends on, injectable for tests. */
export interface SyslogHost {
  /** Whether a path exists (fs.existsSync). */
  readonly exists: (path: string) => boolean;
  /** Why tallyd's Unix datagram addon cannot load, or undefined when it can. */
  readonly dgramProblem: () => string | undefined;
}
const THIS_HOST: SyslogHost = { exists: existsSync, dgramProblem: unixDgramProblem };

/**
 * The default Unix datagram socket of `log.backend: 'syslog'` when `log.syslog` sets none of
 * protocol/host/port/socket/dgram: /dev/log where it exists (and the addon loads), as the original's
 * syslog(3); else undefined: UDP 127.0.0.1:514.
 */
export function defaultSyslogDgram(sys: Record<string, unknown>, host: SyslogHost = THIS_HOST): string | undefined {
  if (setsDestination(sys)) return undefined;
  if (!host.exists(DEFAULT_SYSLOG_DGRAM) || host.dgramProblem() !== undefined) return undefined;
  return DEFAULT_SYSLOG_DGRAM;
}

/** Whether `log.syslog` says where the messages go (any of its keys). */
function setsDestination(sys: Record<string, unknown>): boolean {
  return ['protocol', 'host', 'port', 'socket', 'dgram'].some((k) => !isUnset(sys[k]));
}

/** A syslog APP-NAME (RFC 5424; the TAG of the local form): 1 to 48 printable ASCII characters, no space. */
const APP_NAME = /^[\x21-\x7e]{1,48}$/;

/** The `log` section's destination: stderr (the original's 'stdout') or syslog (its 'syslog'). */
export function readLogConfig(r: Reader, raw: Record<string, unknown>, host: SyslogHost = THIS_HOST): LogConfig {
  const log = isPlainObject(raw.log) ? raw.log : {}; // (a non-object is reported by readLogLevel)
  const backend = r.oneOf('log.backend', log.backend, 'stdout', ['stdout', 'syslog'] as const);
  const sys = r.section('log.syslog', log.syslog);
  r.unknownKeys(sys, SYSLOG_KEYS, 'log.syslog.');
  const socket = r.optStr('log.syslog.socket', sys.socket);
  let application = r.str('log.application', log.application, DEFAULT_LOG_APPLICATION, { nonEmpty: true });
  if (backend === 'syslog' && application !== '' && !APP_NAME.test(application)) {
    // (the original passes any string to syslog(3): its configs are accepted, the name made valid)
    const sent = application.replace(/[^\x21-\x7e]/g, '_').slice(0, 48);
    r.warn(
      `config key 'log.application': ${JSON.stringify(application)} is not a syslog APP-NAME (1 to 48 printable ASCII characters, no spaces): sent as ${JSON.stringify(sent)}`,
    );
    application = sent;
  }
  return {
    backend,
    application,
    syslog: {
      protocol: r.oneOf('log.syslog.protocol', sys.protocol, 'udp', ['udp', 'tcp'] as const),
      host: r.str('log.syslog.host', sys.host, DEFAULT_SYSLOG_HOST, { nonEmpty: true }),
      port: r.port('log.syslog.port', sys.port, DEFAULT_SYSLOG_PORT, false),
      socket,
      dgram: readSyslogDgram(r, sys, socket, backend === 'syslog', host),
    },
  };
}

/** `log.syslog.dgram`, or its default; checked only where the logs go to syslog. */
function readSyslogDgram(
  r: Reader,
  sys: Record<string, unknown>,
  socket: string | undefined,
  used: boolean,
  host: SyslogHost,
): string | undefined {
  const dgram = r.optStr('log.syslog.dgram', sys.dgram);
  if (dgram === undefined) {
    if (!used) return undefined;
    const def = defaultSyslogDgram(sys, host);
    const problem = def === undefined && !setsDestination(sys) && host.exists(DEFAULT_SYSLOG_DGRAM) ? host.dgramProblem() : undefined;
    if (problem !== undefined) {
      r.warn(
        `log.syslog: ${DEFAULT_SYSLOG_DGRAM} exists but cannot be used (${problem}): logging to UDP ${DEFAULT_SYSLOG_HOST}:${DEFAULT_SYSLOG_PORT}`,
      );
    }
    return def;
  }
  if (dgram === '' || Buffer.byteLength(dgram) > MAX_UNIX_PATH_BYTES) {
    r.problem('log.syslog.dgram', `a Unix socket path of 1 to ${MAX_UNIX_PATH_BYTES} bytes`, dgram);
  } else if (socket !== undefined) {
    r.note('log.syslog.dgram', "set with 'log.syslog.socket': a Unix datagram socket or a stream socket, not both");
  } else if (['protocol', 'host', 'port'].some((k) => !isUnset(sys[k]))) {
    r.note('log.syslog.dgram', "set with 'log.syslog.protocol/host/port': a Unix datagram socket or a network address, not both");
  } else if (used) {
    const problem = host.dgramProblem();
    if (problem !== undefined) r.note('log.syslog.dgram', `cannot be used: ${problem}`);
    else if (!host.exists(dgram))
      r.warn(`config key 'log.syslog.dgram': ${dgram} does not exist (yet): log messages are lost until it does`);
  }
  return dgram;
}

/** `title`: a string sets the process title; false (or '') leaves Node's; true or unset: tallyd's default. */
export function readTitle(r: Reader, value: unknown): string | false {
  if (isUnset(value) || value === true) return DEFAULT_TITLE;
  if (value === false || value === '') return false;
  if (typeof value === 'string') return value;
  r.problem('title', 'a string or false', value);
  return DEFAULT_TITLE;
}

/** Loopback addresses, where the status page needs no token. */
export function isLoopbackAddress(a: string): boolean {
  return a === 'localhost' || a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || a === '::ffff:127.0.0.1';
}

/** statusPage: what one key cannot say alone (a token off loopback, its length; whether the port was configured). */
export function checkStatusPage(r: Reader, page: Record<string, unknown>, value: unknown): void {
  const address = page.address as string;
  const token = page.token as string | undefined;
  if (page.enabled === true && token === undefined && !isLoopbackAddress(address)) {
    r.note('statusPage.token', `required when statusPage.address is not a loopback address (it is ${describeValue(address)})`);
  }
  if (token !== undefined && token.length < 16) r.problem('statusPage.token', 'a string of at least 16 characters', '(hidden)');
  page.portConfigured = isPlainObject(value) && !isUnset(value.port);
}

/** keyFlush.percent: 0 < p <= 100 (a fraction is fine). */
export function readKeyFlushPercent(r: Reader, value: unknown): number {
  if (isUnset(value)) return DEFAULT_KEY_FLUSH_PERCENT;
  const n = toNumber(value);
  if (n === undefined || !(n > 0 && n <= 100)) {
    r.problem('keyFlush.percent', 'a percentage (0 < p <= 100)', value);
    return DEFAULT_KEY_FLUSH_PERCENT;
  }
  return n;
}
