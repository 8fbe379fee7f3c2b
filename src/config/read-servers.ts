/**
 * The reader of the listeners' config (a `custom` key of src/config/schema.ts): the `servers` list,
 * or the top-level `port`/`address`/`address_ipv6` it replaces, with each entry's server name or
 * module, socket and TCP limits. Problems are reported through the Reader, naming the key as written.
 */

import { resolvePlugin } from '../backends/plugin/resolve.js';
import { DEFAULT_ADDRESS, DEFAULT_ADDRESS_IPV6, DEFAULT_PORT } from './defaults.js';
import { isPlainObject, isUnset, type Reader } from './reader.js';
import { keysOf, SERVER_SECTION } from './schema.js';
import type { ServerConfig } from './types.js';

const SERVER_KEYS = keysOf(SERVER_SECTION);

/** './servers/udp', 'servers/udp.js', 'udp' → 'udp'; likewise tcp; anything else → undefined. */
export function normaliseServerName(name: string): 'udp' | 'tcp' | undefined {
  let n = name.trim();
  if (n.endsWith('.js')) n = n.slice(0, -3);
  if (n.startsWith('./')) n = n.slice(2);
  if (n.startsWith('servers/')) n = n.slice('servers/'.length);
  return n === 'udp' || n === 'tcp' ? n : undefined;
}

/** Limits of a TCP listener: the top-level tcpMaxConnections/tcpIdleTimeout, or a server entry's own. */
export interface TcpLimits {
  maxConnections: number;
  idleTimeoutMs: number;
}

const MAX_CONNECTIONS_EXPECTED = 'an integer between 1 and 1000000 (connections)';
const IDLE_TIMEOUT_EXPECTED = 'a non-negative integer (ms; 0: never)';

function readTcpLimits(r: Reader, maxKey: string, max: unknown, idleKey: string, idle: unknown, inherit: TcpLimits): TcpLimits {
  return {
    maxConnections: r.int(maxKey, max, inherit.maxConnections, 1, 1_000_000, MAX_CONNECTIONS_EXPECTED),
    idleTimeoutMs: r.int(idleKey, idle, inherit.idleTimeoutMs, 0, 2 ** 31 - 1, IDLE_TIMEOUT_EXPECTED),
  };
}

/**
 * A `server` value that is not udp/tcp: a server module (the original's require(name)), checked to
 * be loadable now; undefined (and a problem) when it is not a string or cannot be found.
 */
function readServerModule(r: Reader, key: string, value: unknown, file: string | undefined): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    r.problem(key, "'udp', 'tcp', './servers/udp', './servers/tcp' or a server module ('./my-server.js', an npm name)", value);
    return undefined;
  }
  try {
    resolvePlugin(value.trim(), file);
  } catch (err) {
    r.note(key, `server module "${value}": ${(err as Error).message}`);
    return undefined;
  }
  return value.trim();
}

export function readServers(
  r: Reader,
  raw: Record<string, unknown>,
  recvBufferBytes: number,
  maxLineLength: number,
  tcpLimits: TcpLimits,
  file?: string,
): ServerConfig[] {
  const list = r.list('servers', raw.servers, 'a list of server objects');
  if (list === undefined) {
    // No `servers`: the top-level server/port/address/address_ipv6 make one server, as the original does
    // (`server` defaults to UDP; './servers/tcp' or a module file as its docs/server.md show).
    const ipv6 = r.bool('address_ipv6', raw.address_ipv6, false);
    const top = isUnset(raw.server) ? 'udp' : typeof raw.server === 'string' ? normaliseServerName(raw.server) : undefined;
    const topModule = top === undefined ? readServerModule(r, 'server', raw.server, file) : undefined;
    return [
      {
        module: topModule,
        moduleConfig: topModule === undefined ? undefined : raw,
        socket: undefined,
        socketMod: undefined,
        server: top ?? 'module',
        address: r.str('address', raw.address, ipv6 ? DEFAULT_ADDRESS_IPV6 : DEFAULT_ADDRESS, { nonEmpty: true }),
        port: r.port('port', raw.port, DEFAULT_PORT, true),
        addressIpv6: ipv6,
        recvBufferBytes,
        maxLineLength,
        ...tcpLimits,
      },
    ];
  }
  for (const key of ['port', 'address', 'address_ipv6']) {
    if (!isUnset(raw[key])) r.warn(`config key '${key}' is ignored because 'servers' is set`);
  }
  if (list.length === 0) r.problem('servers', 'a non-empty list of server objects', list);
  const servers: ServerConfig[] = [];
  list.forEach((entry, i) => {
    const at = `servers[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(at, 'an object like { server: "./servers/udp", port: 8125 }', entry);
      return;
    }
    let kind: 'udp' | 'tcp' | 'module' = 'udp';
    let module: string | undefined;
    if (!isUnset(entry.server)) {
      const name = typeof entry.server === 'string' ? normaliseServerName(entry.server) : undefined;
      if (name === undefined) {
        // a server module: its entry is its own config (any keys)
        module = readServerModule(r, `${at}.server`, entry.server, file);
        kind = 'module';
      } else {
        kind = name;
      }
    }
    if (kind !== 'module') r.unknownKeys(entry, SERVER_KEYS, `${at}.`);
    const ipv6 = r.bool(`${at}.address_ipv6`, entry.address_ipv6, false);
    const server: {
      server: 'udp' | 'tcp' | 'module';
      address: string;
      port: number;
      addressIpv6: boolean;
      socket: string | undefined;
      socketMod: number | undefined;
      recvBufferBytes: number;
      maxLineLength: number;
      maxConnections: number;
      idleTimeoutMs: number;
      module: string | undefined;
      moduleConfig: Record<string, unknown> | undefined;
    } = {
      module,
      moduleConfig: module === undefined ? undefined : entry,
      socket: undefined,
      socketMod: undefined,
      server: kind,
      address: r.str(`${at}.address`, entry.address, ipv6 ? DEFAULT_ADDRESS_IPV6 : DEFAULT_ADDRESS, { nonEmpty: true }),
      port: r.port(`${at}.port`, entry.port, DEFAULT_PORT, true),
      addressIpv6: ipv6,
      recvBufferBytes,
      maxLineLength,
      ...tcpLimits,
    };
    const socket = r.optStr(`${at}.socket`, entry.socket);
    const socketMod = readSocketMod(r, `${at}.socket_mod`, entry.socket_mod);
    if (kind === 'tcp') {
      if (socket !== undefined) server.socket = socket;
      if (socketMod !== undefined) {
        if (socket === undefined) r.warn(`config key '${at}.socket_mod' is ignored without '${at}.socket'`);
        else server.socketMod = socketMod;
      }
      const limits = readTcpLimits(r, `${at}.max_connections`, entry.max_connections, `${at}.idle_timeout`, entry.idle_timeout, tcpLimits);
      server.maxConnections = limits.maxConnections;
      server.idleTimeoutMs = limits.idleTimeoutMs;
    } else if (kind === 'udp' && (socket !== undefined || socketMod !== undefined)) {
      r.warn(`config keys '${at}.socket' and '${at}.socket_mod' apply to tcp servers only (ignored)`);
    }
    if (kind !== 'tcp' && (!isUnset(entry.max_connections) || !isUnset(entry.idle_timeout))) {
      r.warn(`config keys '${at}.max_connections' and '${at}.idle_timeout' apply to tcp servers only (ignored)`);
    }
    servers.push(server);
  });
  return servers;
}

/** A file mode: a number (0o660 or 432) or an octal string ('660', '0660', '0o660'). */
function readSocketMod(r: Reader, key: string, value: unknown): number | undefined {
  if (isUnset(value)) return undefined;
  let mode: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) mode = value;
  else if (typeof value === 'string' && /^(0o?)?[0-7]{1,4}$/i.test(value)) mode = parseInt(value.replace(/^0o/i, ''), 8);
  if (mode === undefined || mode < 0 || mode > 0o7777) {
    r.problem(key, "a file mode (a number such as 0o660, or an octal string such as '660')", value);
    return undefined;
  }
  return mode;
}
