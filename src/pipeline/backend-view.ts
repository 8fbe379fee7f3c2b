/**
 * Which config changes rebuild the backends on a reload: a change in what backends may read of the
 * config. (One self-contained function: the config schema is to derive this rule.)
 */
import type { TallydConfig } from '../config/types.js';

/** Top-level config fields no backend reads: a change in them alone does not rebuild backends. */
const NOT_FOR_BACKENDS = new Set([
  'servers', 'udpReader', 'mgmtAddress', 'mgmtPort', 'automaticConfigReload', 'logLevel', 'configFile', 'dumpMessages', 'keyFlush',
  'maxKeys', 'idleKeyTtl', 'stopDrainMs', 'healthStatus', 'debug', 'maxKeyLength', 'keyTableBytes', 'setMaxMembers',
  'mgmtMaxConnections', 'mgmtIdleTimeout',
  'statusPage',
]);
/** The same, as spelled in the raw file. */
const RAW_NOT_FOR_BACKENDS = new Set([
  'port', 'address', 'address_ipv6', 'servers', 'mgmt_port', 'mgmt_address', 'automaticConfigReload', 'logLevel', 'log',
  'dumpMessages', 'keyFlush', 'maxKeys', 'idleKeyTtl', 'stopDrainMs', 'healthStatus', 'debug', 'udpRecvBuffer', 'udpReader',
  'tcpMaxLineLength', 'maxKeyLength', 'keyTableBytes', 'setMaxMembers',
  'tcpMaxConnections', 'tcpIdleTimeout', 'mgmtMaxConnections', 'mgmtIdleTimeout',
  'statusPage',
]);

/** What backends may read of a config, as one comparable string. */
export function backendView(c: TallydConfig): string {
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (!NOT_FOR_BACKENDS.has(k) && k !== 'raw') view[k] = v;
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.raw)) if (!RAW_NOT_FOR_BACKENDS.has(k)) raw[k] = v;
  view['raw'] = raw;
  return JSON.stringify(view, (_k, v: unknown) => (v === Infinity ? 'inf' : v));
}
