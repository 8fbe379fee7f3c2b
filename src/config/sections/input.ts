/**
 * The input's keys: the listeners (`port`, `address`, `servers` and the `servers[]` entries), the
 * workers, the UDP reader and the TCP input's limits.
 */
import {
  DEFAULT_STOP_DRAIN_MS,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_CONNECTIONS,
  DEFAULT_TCP_MAX_LINE_LENGTH,
  DEFAULT_UDP_READER,
  DEFAULT_UDP_RECV_BUFFER_BYTES,
  DEFAULT_WORKER_PACKET_FORWARD_BYTES,
  DEFAULT_WORKERS,
  MAX_WORKERS,
} from '../defaults.js';
import { INT_MAX, type KeySchema, ms, type SectionSchema, seeSection } from './types.js';

export const SERVER_SECTION: SectionSchema = {
  prefix: 'servers[].',
  title: '`servers[]`',
  anchor: 'servers',
  keys: [
    {
      key: 'server',
      check: { kind: 'custom' },
      type: 'string',
      defaultDoc: '`udp`',
      reload: 'pipeline',
      doc: '`udp`, `tcp`, `./servers/udp`, `./servers/tcp`, or a server module (its entry is its own config)',
    },
    { key: 'address', check: { kind: 'custom' }, type: 'string', defaultDoc: '`0.0.0.0`', reload: 'pipeline', doc: 'listen address' },
    { key: 'port', check: { kind: 'custom' }, type: 'int 0..65535', defaultDoc: '8125', reload: 'pipeline', doc: 'listen port' },
    { key: 'address_ipv6', check: { kind: 'custom' }, type: 'bool', defaultDoc: 'false', reload: 'pipeline', doc: 'IPv6' },
    {
      key: 'socket',
      check: { kind: 'custom' },
      type: 'path',
      defaultDoc: '—',
      reload: 'pipeline',
      doc: 'tcp: listen on a Unix socket instead',
    },
    {
      key: 'socket_mod',
      check: { kind: 'custom' },
      type: 'file mode',
      defaultDoc: '—',
      reload: 'pipeline',
      doc: "tcp: mode of that socket (`0o660` or `'660'`)",
    },
    {
      key: 'max_connections',
      check: { kind: 'custom' },
      type: 'int',
      defaultDoc: '`tcpMaxConnections`',
      reload: 'pipeline',
      doc: "tcp: this server's connection limit",
    },
    {
      key: 'idle_timeout',
      check: { kind: 'custom' },
      type: 'ms',
      defaultDoc: '`tcpIdleTimeout`',
      reload: 'pipeline',
      doc: "tcp: this server's idle timeout",
    },
  ],
};

/** The top level's listener keys. */
export const LISTEN_KEYS: readonly KeySchema[] = [
  {
    key: 'port',
    check: { kind: 'by', key: 'servers' },
    type: 'int 0..65535',
    defaultDoc: '8125',
    reload: 'pipeline',
    doc: 'UDP port of the one server made from the top level when `servers` is not set (0: any free port)',
  },
  {
    key: 'address',
    check: { kind: 'by', key: 'servers' },
    type: 'string',
    defaultDoc: '`0.0.0.0` (`::` with `address_ipv6`)',
    reload: 'pipeline',
    doc: 'address of that server',
  },
  {
    key: 'address_ipv6',
    check: { kind: 'by', key: 'servers' },
    type: 'bool',
    defaultDoc: 'false',
    reload: 'pipeline',
    doc: 'listen on IPv6',
  },
  {
    key: 'server',
    check: { kind: 'by', key: 'servers' },
    type: 'string',
    defaultDoc: '`udp`',
    reload: 'pipeline',
    doc: 'kind of that server: `udp`, `tcp`, `./servers/udp`, `./servers/tcp`, or a server module',
  },
  {
    key: 'servers',
    field: 'servers',
    check: { kind: 'custom' },
    type: 'list of objects',
    defaultDoc: '—',
    reload: 'pipeline',
    doc: `several servers, ${seeSection(SERVER_SECTION)}; then \`port\`/\`address\`/\`address_ipv6\` are ignored`,
  },
];

/** The top level's input keys: workers, the UDP reader, the TCP input's limits, the stop drain, DogStatsD's container id. */
export const INPUT_KEYS: readonly KeySchema[] = [
  {
    key: 'workers',
    field: 'workers',
    check: { kind: 'int', min: 1, max: MAX_WORKERS, expected: `an integer between 1 and ${MAX_WORKERS}` },
    def: DEFAULT_WORKERS,
    type: `int 1..${MAX_WORKERS}`,
    reload: 'restart',
    doc: 'tallyd: ingest processes (cluster workers sharing the listeners)',
  },
  {
    key: 'workerPacketForwardBytes',
    field: 'workerPacketForwardBytes',
    check: { kind: 'int', min: 0, max: 2 ** 31 - 1, expected: 'a non-negative integer (bytes)' },
    def: DEFAULT_WORKER_PACKET_FORWARD_BYTES,
    type: 'bytes',
    reload: 'pipeline',
    doc: 'tallyd: with `workers` > 1 and an npm backend listening to `packet`, bytes of packets a worker may have queued to the primary for those events; past it they are dropped for those events only, counted (`messages.packets_forward_dropped`). 0: no `packet` events with workers',
  },
  {
    key: 'udpRecvBuffer',
    check: { kind: 'int', min: 1, max: INT_MAX, expected: 'a positive integer (bytes)' },
    def: DEFAULT_UDP_RECV_BUFFER_BYTES,
    type: 'bytes',
    reload: 'pipeline',
    doc: 'tallyd: SO_RCVBUF requested per UDP socket (capped by `net.core.rmem_max`)',
  },
  {
    key: 'udpReader',
    field: 'udpReader',
    check: { kind: 'oneOf', values: ['native', 'dgram'] },
    def: DEFAULT_UDP_READER,
    type: '`native` \\| `dgram`',
    reload: 'restart',
    doc: "tallyd: recvmmsg(2) batches, or Node's dgram",
  },
  {
    key: 'tcpMaxLineLength',
    check: { kind: 'int', min: 1, max: 2 ** 30, expected: 'a positive integer (bytes)' },
    def: DEFAULT_TCP_MAX_LINE_LENGTH,
    type: 'bytes',
    reload: 'pipeline',
    doc: 'tallyd: longest TCP line; longer ones are counted (`too_long`) and skipped',
  },
  {
    key: 'tcpMaxConnections',
    check: { kind: 'int', min: 1, max: 1_000_000, expected: 'an integer between 1 and 1000000 (connections)' },
    def: DEFAULT_TCP_MAX_CONNECTIONS,
    type: 'int 1..1000000',
    reload: 'pipeline',
    doc: 'tallyd: TCP connections per server at once',
  },
  {
    key: 'tcpIdleTimeout',
    check: { kind: 'int', min: 0, max: INT_MAX, expected: 'a non-negative integer (ms; 0: never)' },
    def: DEFAULT_TCP_IDLE_TIMEOUT_MS,
    type: 'ms',
    reload: 'pipeline',
    doc: 'tallyd: a TCP connection idle this long is closed (0: never)',
  },
  {
    key: 'stopDrainMs',
    field: 'stopDrainMs',
    check: { kind: 'int', min: 0, max: INT_MAX, expected: ms('non-negative') },
    def: DEFAULT_STOP_DRAIN_MS,
    type: 'ms',
    reload: 'none',
    doc: 'tallyd: on SIGTERM/SIGINT, time given to backends to deliver the final flush',
  },
  {
    key: 'dogstatsdContainerIdTag',
    field: 'dogstatsdContainerIdTag',
    check: { kind: 'bool' },
    def: false,
    type: 'bool',
    reload: 'pipeline',
    doc: 'tallyd: a DogStatsD `\\|c:<container id>` field becomes the tag `container_id`; off, it is skipped',
  },
];
