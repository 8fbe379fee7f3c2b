/**
 * The proxy's configuration: the original's proxy config (exampleProxyConfig.js) read unchanged,
 * plus a few tallyd keys (mtu, flushInterval, flushAlignment, logLevel, udpRecvBuffer, udpReader).
 * Every problem is collected before refusing (one ConfigError lists them all), unknown keys warn.
 */

import {
  DEFAULT_ADDRESS,
  DEFAULT_ADDRESS_IPV6,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MGMT_ADDRESS,
  DEFAULT_MGMT_PORT,
  DEFAULT_PORT,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_CONNECTIONS,
  DEFAULT_TCP_MAX_LINE_LENGTH,
  DEFAULT_UDP_RECV_BUFFER_BYTES,
  deepFreeze,
  PINO_LEVELS,
} from '../config/defaults.js';
import { unknownKeyMessage } from '../config/reader.js';
import type { ServerConfig } from '../config/types.js';
import { describeValue, normaliseServerName } from '../config/validate.js';
import { ConfigError } from '../errors.js';

/** The original's health check interval (proxy.js: `config.checkInterval || 10000`). */
export const DEFAULT_CHECK_INTERVAL_MS = 10_000;
/** The original's hashring lookup cache (proxy.js: `config.cacheSize || 10000`). */
export const DEFAULT_CACHE_SIZE = 10_000;
/**
 * tallyd's own: largest datagram the proxy sends, bytes of UDP payload. 1432 fits a 1500-byte
 * Ethernet MTU with IPv4/IPv6 and UDP headers to spare (the figure StatsD clients use).
 */
export const DEFAULT_PROXY_MTU = 1432;
export const MIN_PROXY_MTU = 64;
export const MAX_PROXY_MTU = 65_507;

export interface ProxyNode {
  readonly host: string;
  readonly port: number;
  readonly adminport: number;
  /** `host:port`, the node's name on the ring (as the original). */
  readonly id: string;
}

export interface ProxyConfig {
  readonly nodes: readonly ProxyNode[];
  /** The input listener (udp or tcp). */
  readonly server: ServerConfig;
  /** Datagrams to the nodes: 'udp4' or 'udp6'. */
  readonly udpVersion: 'udp4' | 'udp6';
  readonly mgmtAddress: string;
  readonly mgmtPort: number;
  readonly checkInterval: number;
  readonly cacheSize: number;
  /** As configured (0, a number, 'auto'): > 1 forks that many proxies (node:cluster), as the original. */
  readonly forkCount: number | 'auto';
  readonly mtu: number;
  /** The aggregators' flushInterval (ms), for flushAlignment 'clock'. */
  readonly flushInterval: number;
  /** 'startup' (the original: ring changes apply at once) or 'clock' (at wall-clock multiples of flushInterval). */
  readonly flushAlignment: 'startup' | 'clock';
  readonly logLevel: string;
  readonly udpReader: 'native' | 'dgram';
  readonly configFile: string | undefined;
  readonly raw: Readonly<Record<string, unknown>>;
}

const NODE_KEYS = ['host', 'port', 'adminport'];
const PROXY_KEYS: ReadonlySet<string> = new Set([
  // the original's proxy.js and exampleProxyConfig.js
  'nodes',
  'host',
  'address',
  'port',
  'udp_version',
  'address_ipv6',
  'mgmt_port',
  'mgmt_address',
  'checkInterval',
  'cacheSize',
  'forkCount',
  'server',
  'log',
  'automaticConfigReload',
  'title',
  // tallyd's own
  'mtu',
  'flushInterval',
  'flushAlignment',
  'logLevel',
  'udpRecvBuffer',
  'udpReader',
  'tcpMaxLineLength',
]);

/** Keys only a proxy config has: an aggregator given one of these is refused (validate.ts). */
export function looksLikeProxyConfig(raw: Record<string, unknown>): boolean {
  return Array.isArray(raw.nodes) || raw.checkInterval !== undefined || raw.forkCount !== undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function unset(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

class Problems {
  readonly list: string[] = [];
  readonly warnings: string[] = [];
  bad(key: string, expected: string, value: unknown): void {
    this.list.push(`config key '${key}': expected ${expected}, got ${describeValue(value)}`);
  }
  int(key: string, value: unknown, def: number, min: number, max: number, expected: string): number {
    if (unset(value)) return def;
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.bad(key, expected, value);
      return def;
    }
    return n;
  }
  port(key: string, value: unknown, def: number, min: 0 | 1): number {
    return this.int(key, value, def, min, 65535, `a port number (${min}..65535)`);
  }
  str(key: string, value: unknown, def: string): string {
    if (unset(value)) return def;
    if (typeof value !== 'string' || value === '') {
      this.bad(key, 'a non-empty string', value);
      return def;
    }
    return value;
  }
  bool(key: string, value: unknown, def: boolean): boolean {
    if (unset(value)) return def;
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
    this.bad(key, 'true or false', value);
    return def;
  }
  oneOf<T extends string>(key: string, value: unknown, def: T, allowed: readonly T[]): T {
    if (unset(value)) return def;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.bad(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
    return def;
  }
}

function readNodes(p: Problems, value: unknown): ProxyNode[] {
  if (!Array.isArray(value) || value.length === 0) {
    p.bad('nodes', 'a non-empty list of { host, port, adminport } (the statsd instances behind the proxy)', value);
    return [];
  }
  const out: ProxyNode[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, i: number) => {
    const at = `nodes[${i}]`;
    if (!isPlainObject(entry)) {
      p.bad(at, "an object like { host: '127.0.0.1', port: 8127, adminport: 8128 }", entry);
      return;
    }
    for (const k of Object.keys(entry)) {
      if (k !== 'host' && k !== 'port' && k !== 'adminport') p.warnings.push(unknownKeyMessage(`${at}.`, k, NODE_KEYS));
    }
    const before = p.list.length;
    const host = p.str(`${at}.host`, entry.host, '');
    if (unset(entry.host)) p.bad(`${at}.host`, 'a host name or address', entry.host);
    if (unset(entry.port)) p.bad(`${at}.port`, 'a port number (1..65535)', entry.port);
    if (unset(entry.adminport)) p.bad(`${at}.adminport`, "a port number (1..65535): the node's admin (mgmt_port) port", entry.adminport);
    const port = p.port(`${at}.port`, entry.port, 0, 1);
    const adminport = p.port(`${at}.adminport`, entry.adminport, 0, 1);
    if (p.list.length !== before) return;
    const id = `${host}:${port}`;
    if (seen.has(id)) {
      p.list.push(`config key '${at}': node ${id} is listed twice`);
      return;
    }
    seen.add(id);
    out.push({ host, port, adminport, id });
  });
  return out;
}

/** Raw proxy config (as read by readConfigFile) → the frozen ProxyConfig. Throws ConfigError. */
export function validateProxyConfig(raw: Record<string, unknown>, file?: string): { config: ProxyConfig; warnings: string[] } {
  const p = new Problems();
  const nodes = readNodes(p, raw.nodes);

  const ipv6 = p.bool('address_ipv6', raw.address_ipv6, false);
  let kind: 'udp' | 'tcp' = 'udp';
  if (!unset(raw.server)) {
    const name = typeof raw.server === 'string' ? normaliseServerName(raw.server) : undefined;
    if (name === undefined) p.bad('server', "'./servers/udp' or './servers/tcp'", raw.server);
    else kind = name;
  }
  // The original's servers bind `address`; its example documents `host`. Both are read (address first).
  const listenAddress = p.str(
    unset(raw.address) ? 'host' : 'address',
    raw.address ?? raw.host,
    ipv6 ? DEFAULT_ADDRESS_IPV6 : DEFAULT_ADDRESS,
  );
  const server: ServerConfig = {
    server: kind,
    module: undefined,
    moduleConfig: undefined,
    socket: undefined,
    socketMod: undefined,
    address: listenAddress,
    port: p.port('port', raw.port, DEFAULT_PORT, 0),
    addressIpv6: ipv6,
    recvBufferBytes: p.int('udpRecvBuffer', raw.udpRecvBuffer, DEFAULT_UDP_RECV_BUFFER_BYTES, 1, 2 ** 31 - 1, 'a positive integer (bytes)'),
    maxLineLength: p.int('tcpMaxLineLength', raw.tcpMaxLineLength, DEFAULT_TCP_MAX_LINE_LENGTH, 1, 2 ** 30, 'a positive integer (bytes)'),
    maxConnections: DEFAULT_TCP_MAX_CONNECTIONS,
    idleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS,
  };

  let forkCount: number | 'auto' = 0;
  if (raw.forkCount === 'auto') forkCount = 'auto';
  else forkCount = p.int('forkCount', raw.forkCount, 0, 0, 1024, "a number of processes (0..1024) or 'auto'");

  let logLevel = DEFAULT_LOG_LEVEL;
  if (isPlainObject(raw.log) && typeof raw.log.level === 'string' && PINO_LEVELS.includes(raw.log.level)) logLevel = raw.log.level;
  logLevel = p.oneOf('logLevel', raw.logLevel, logLevel, PINO_LEVELS);

  const config: ProxyConfig = {
    nodes,
    server,
    udpVersion: p.oneOf('udp_version', raw.udp_version, ipv6 ? 'udp6' : 'udp4', ['udp4', 'udp6'] as const),
    mgmtAddress: p.str('mgmt_address', raw.mgmt_address, DEFAULT_MGMT_ADDRESS),
    mgmtPort: p.port('mgmt_port', raw.mgmt_port, DEFAULT_MGMT_PORT, 0),
    checkInterval: p.int('checkInterval', raw.checkInterval, DEFAULT_CHECK_INTERVAL_MS, 1, 2 ** 31 - 1, 'a positive integer (ms)'),
    cacheSize: p.int('cacheSize', raw.cacheSize, DEFAULT_CACHE_SIZE, 1, 2 ** 24, 'a positive integer (entries)'),
    forkCount,
    mtu: p.int(
      'mtu',
      raw.mtu,
      DEFAULT_PROXY_MTU,
      MIN_PROXY_MTU,
      MAX_PROXY_MTU,
      `an integer between ${MIN_PROXY_MTU} and ${MAX_PROXY_MTU} (bytes of UDP payload)`,
    ),
    flushInterval: p.int(
      'flushInterval',
      raw.flushInterval,
      DEFAULT_FLUSH_INTERVAL_MS,
      1,
      2 ** 31 - 1,
      "a positive integer (ms): the aggregators' flushInterval",
    ),
    flushAlignment: p.oneOf('flushAlignment', raw.flushAlignment, 'startup', ['startup', 'clock'] as const),
    logLevel,
    udpReader: p.oneOf('udpReader', raw.udpReader, 'native', ['native', 'dgram'] as const),
    configFile: file,
    raw,
  };
  if (config.flushAlignment === 'clock' && unset(raw.flushInterval)) {
    p.list.push("config key 'flushInterval': required with flushAlignment 'clock' (the aggregators' flushInterval, ms)");
  }
  for (const key of Object.keys(raw)) {
    if (!PROXY_KEYS.has(key)) p.warnings.push(unknownKeyMessage('', key, PROXY_KEYS));
  }
  // with the unknown keys (a misspelt key's 'did you mean'), so that one run shows everything to fix, as the daemon's config
  if (p.list.length > 0)
    throw new ConfigError([...p.list, ...p.warnings.filter((w) => w.startsWith('unknown config key')).map((w) => `warning: ${w}`)]);
  return { config: deepFreeze(config), warnings: p.warnings };
}

/**
 * `tallyd proxy --check-config`: the effective configuration in the config file's own key names (the
 * original's proxy keys and tallyd's), defaults filled in: written back as a proxy config, it loads
 * as the same configuration. Keys tallyd does not read (title, automaticConfigReload, log other than
 * its level) follow as written.
 */
export function describeEffectiveProxyConfig(c: ProxyConfig): string {
  const view: Record<string, unknown> = {
    nodes: c.nodes.map(({ host, port, adminport }) => ({ host, port, adminport })),
    server: c.server.server === 'tcp' ? './servers/tcp' : './servers/udp',
    address: c.server.address,
    port: c.server.port,
    address_ipv6: c.server.addressIpv6,
    udp_version: c.udpVersion,
    mgmt_address: c.mgmtAddress,
    mgmt_port: c.mgmtPort,
    checkInterval: c.checkInterval,
    cacheSize: c.cacheSize,
    forkCount: c.forkCount,
    mtu: c.mtu,
    flushInterval: c.flushInterval,
    flushAlignment: c.flushAlignment,
    logLevel: c.logLevel,
    udpRecvBuffer: c.server.recvBufferBytes,
    udpReader: c.udpReader,
    tcpMaxLineLength: c.server.maxLineLength,
  };
  for (const key of ['log', 'title', 'automaticConfigReload']) if (c.raw[key] !== undefined) view[key] = c.raw[key];
  return JSON.stringify(view, null, 2);
}
