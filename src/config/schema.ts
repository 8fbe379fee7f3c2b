/**
 * The config schema: every key tallyd reads, one section at a time (the core, and each backend's),
 * with its type, default, meaning, how it is checked and what a reload does when it changes. This is
 * the one place a key is declared: validate.ts reads the config through it (every problem at once),
 * the key sets (KNOWN_KEYS, GRAPHITE_KEYS, ...) are derived from it, a reload decides from it
 * whether backends are rebuilt ({@link backendsNeedRebuild}), and docs/reference.md's configuration
 * tables are generated from it (src/config/reference.ts, `npm run docs:reference`).
 *
 * Adding a key: one entry in its section below (and its field in types.ts). A generic `check` is read
 * by validate.ts as is; `custom` names a reader written there (servers, histogram, ...).
 */
import { PROMETHEUS_SECTION } from '../backends/prometheus/config.js';
import {
  DEFAULT_AUTOMATIC_CONFIG_RELOAD,
  DEFAULT_CONSOLE_PRETTYPRINT,
  DEFAULT_DELETE_IDLE_STATS,
  DEFAULT_FLUSH_COUNTS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_GAUGES_MAX_TTL,
  DEFAULT_GRAPHITE_GLOBAL_PREFIX,
  DEFAULT_GRAPHITE_GLOBAL_SUFFIX,
  DEFAULT_GRAPHITE_LEGACY_NAMESPACE,
  DEFAULT_GRAPHITE_PICKLE_PORT,
  DEFAULT_GRAPHITE_PORT,
  DEFAULT_GRAPHITE_PREFIX_COUNTER,
  DEFAULT_GRAPHITE_PREFIX_GAUGE,
  DEFAULT_GRAPHITE_PREFIX_SET,
  DEFAULT_GRAPHITE_PREFIX_TIMER,
  DEFAULT_GRAPHITE_QUEUE_BYTES,
  DEFAULT_GRAPHITE_TIMEOUT_MS,
  DEFAULT_HEALTH_STATUS,
  DEFAULT_IDLE_KEY_TTL,
  DEFAULT_KEY_FLUSH_INTERVAL_MS,
  DEFAULT_KEY_FLUSH_PERCENT,
  DEFAULT_KEY_NAME_SANITIZE,
  DEFAULT_KEY_TABLE_BYTES,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_MAX_KEYS,
  DEFAULT_MGMT_ADDRESS,
  DEFAULT_MGMT_IDLE_TIMEOUT_MS,
  DEFAULT_MGMT_MAX_CONNECTIONS,
  DEFAULT_MGMT_PORT,
  DEFAULT_PERCENT_THRESHOLD,
  DEFAULT_PREFIX_STATS,
  DEFAULT_REPEATER_PROTOCOL,
  DEFAULT_REPEATER_QUEUE_BYTES,
  DEFAULT_RESERVOIR_SIZE,
  DEFAULT_SET_MAX_MEMBERS,
  DEFAULT_STATUS_ADDRESS,
  DEFAULT_STATUS_PORT,
  DEFAULT_STOP_DRAIN_MS,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_CONNECTIONS,
  DEFAULT_TCP_MAX_LINE_LENGTH,
  DEFAULT_TIMER_HISTOGRAM,
  DEFAULT_TIMER_HISTOGRAM_MAX_BUCKETS,
  DEFAULT_TITLE,
  DEFAULT_UDP_READER,
  DEFAULT_UDP_RECV_BUFFER_BYTES,
  DEFAULT_WORKER_PACKET_FORWARD_BYTES,
  DEFAULT_WORKERS,
  MAX_KEY_TABLE_BYTES,
  MAX_MAX_KEY_LENGTH,
  MAX_RESERVOIR_SIZE,
  MAX_SET_MAX_MEMBERS,
  MAX_TIMER_HISTOGRAM_MAX_BUCKETS,
  MAX_WORKERS,
  MIN_KEY_TABLE_BYTES,
  MIN_RESERVOIR_SIZE,
  MIN_TIMER_HISTOGRAM_MAX_BUCKETS,
} from './defaults.js';

/**
 * What a reload does when the key changes:
 * - `none`: read where it is used; applies at once, nothing is rebuilt;
 * - `pipeline`: applied in place by the running daemon (aggregation from the next flush, the flush
 *   timer, listeners, the admin interface, the status page); backends are kept;
 * - `backends`: the backends are rebuilt (Prometheus takes it in place, keeping its series);
 * - `restart`: takes effect at the next start.
 */
export type ReloadEffect = 'none' | 'pipeline' | 'backends' | 'restart';

const INT_MAX = 2 ** 31 - 1;

/** How validate.ts reads a key. The `expected` texts are the messages' wording (`expected <expected>, got <value>`). */
export type Check =
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number; readonly expected: string }
  | { readonly kind: 'port'; readonly allowZero: boolean }
  | { readonly kind: 'str'; readonly nonEmpty?: boolean }
  /** a string; unset or '' reads as undefined */
  | { readonly kind: 'optStr' }
  | { readonly kind: 'oneOf'; readonly values: readonly string[]; readonly expected?: string }
  /** a nested section, read key by key through its own schema */
  | { readonly kind: 'section'; readonly section: SectionSchema }
  /** read by a named reader in validate.ts (lists, keys that depend on others) */
  | { readonly kind: 'custom' }
  /** read by another key's reader (e.g. `port` by `servers`) */
  | { readonly kind: 'by'; readonly key: string };

export interface KeySchema {
  /** The key as written in the file (within its section). */
  readonly key: string;
  /** Where the value goes in the section's part of TallydConfig ('graphite.host'); absent: nowhere of its own. */
  readonly field?: string;
  readonly check: Check;
  /** The value when unset (generic checks). */
  readonly def?: unknown;
  /** For the reference: the type, the default as written there (else derived from `def`), the meaning. */
  readonly type: string;
  readonly defaultDoc?: string;
  readonly doc: string;
  readonly reload: ReloadEffect;
}

export interface SectionSchema {
  /** The path written before each key in messages and in the reference ('graphite.', 'servers[].'); '' for the top level. */
  readonly prefix: string;
  /** The reference's heading and anchor. */
  readonly title: string;
  readonly anchor: string;
  /** A sentence under the heading in the reference. */
  readonly intro?: string;
  readonly keys: readonly KeySchema[];
}

const ms = (what: string): string => `a ${what} integer (ms)`;

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

export const GRAPHITE_SECTION: SectionSchema = {
  prefix: 'graphite.',
  title: '`graphite`',
  anchor: 'graphite',
  keys: [
    {
      key: 'legacyNamespace',
      check: { kind: 'bool' },
      def: DEFAULT_GRAPHITE_LEGACY_NAMESPACE,
      type: 'bool',
      reload: 'backends',
      doc: 'legacy names (`stats.KEY`, `stats_counts.KEY`)',
    },
    {
      key: 'globalPrefix',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_GLOBAL_PREFIX,
      type: 'string',
      reload: 'backends',
      doc: 'prefix of the new namespace',
    },
    {
      key: 'prefixCounter',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_PREFIX_COUNTER,
      type: 'string',
      reload: 'backends',
      doc: "counters' prefix (new namespace)",
    },
    {
      key: 'prefixTimer',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_PREFIX_TIMER,
      type: 'string',
      reload: 'backends',
      doc: "timers' prefix",
    },
    {
      key: 'prefixGauge',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_PREFIX_GAUGE,
      type: 'string',
      reload: 'backends',
      doc: "gauges' prefix",
    },
    { key: 'prefixSet', check: { kind: 'str' }, def: DEFAULT_GRAPHITE_PREFIX_SET, type: 'string', reload: 'backends', doc: "sets' prefix" },
    {
      key: 'globalSuffix',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_GLOBAL_SUFFIX,
      type: 'string',
      reload: 'backends',
      doc: 'appended to every name',
    },
    {
      key: 'timeoutMs',
      check: { kind: 'int', min: 1, max: INT_MAX, expected: ms('positive') },
      def: DEFAULT_GRAPHITE_TIMEOUT_MS,
      type: 'ms',
      reload: 'backends',
      doc: 'tallyd: connect + write timeout of one delivery',
    },
    {
      key: 'queueBytes',
      check: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, expected: 'a non-negative integer (bytes)' },
      def: DEFAULT_GRAPHITE_QUEUE_BYTES,
      type: 'bytes',
      reload: 'backends',
      doc: 'tallyd: flushes kept while Graphite is down; past it the oldest are dropped, counted',
    },
  ],
};

export const STATUS_PAGE_SECTION: SectionSchema = {
  prefix: 'statusPage.',
  title: '`statusPage`',
  anchor: 'statuspage',
  keys: [
    { key: 'enabled', check: { kind: 'bool' }, def: true, type: 'bool', reload: 'pipeline', doc: 'serve the status page' },
    {
      key: 'address',
      check: { kind: 'str', nonEmpty: true },
      def: DEFAULT_STATUS_ADDRESS,
      type: 'string',
      reload: 'pipeline',
      doc: 'its address; any non-loopback address needs `token`',
    },
    {
      key: 'port',
      check: { kind: 'port', allowZero: true },
      def: DEFAULT_STATUS_PORT,
      type: 'int 0..65535',
      reload: 'pipeline',
      doc: 'its port; a configured port that is taken stops start-up, the default one only warns',
    },
    {
      key: 'token',
      check: { kind: 'optStr' },
      type: 'string ≥ 16 chars',
      defaultDoc: '—',
      reload: 'pipeline',
      doc: 'bearer token for the page and its API',
    },
  ],
};

export const KEY_FLUSH_SECTION: SectionSchema = {
  prefix: 'keyFlush.',
  title: '`keyFlush`',
  anchor: 'keyflush',
  keys: [
    {
      key: 'interval',
      check: { kind: 'int', min: 0, max: INT_MAX, expected: ms('non-negative') },
      def: DEFAULT_KEY_FLUSH_INTERVAL_MS,
      type: 'ms',
      defaultDoc: '0 (off)',
      reload: 'restart',
      doc: 'how often the most frequent keys are logged',
    },
    {
      key: 'percent',
      check: { kind: 'custom' },
      def: DEFAULT_KEY_FLUSH_PERCENT,
      type: '0 < p ≤ 100',
      reload: 'restart',
      doc: 'share of the keys logged',
    },
    {
      key: 'log',
      check: { kind: 'optStr' },
      type: 'path',
      defaultDoc: '—',
      reload: 'restart',
      doc: 'file to write them to (default: the log)',
    },
  ],
};

export const SYSLOG_SECTION: SectionSchema = {
  prefix: 'log.syslog.',
  title: '`log.syslog`',
  anchor: 'logsyslog',
  keys: [
    { key: 'protocol', check: { kind: 'custom' }, type: '`udp` \\| `tcp`', defaultDoc: '`udp`', reload: 'restart', doc: 'transport' },
    { key: 'host', check: { kind: 'custom' }, type: 'string', defaultDoc: '`127.0.0.1`', reload: 'restart', doc: 'syslog host' },
    { key: 'port', check: { kind: 'custom' }, type: 'int', defaultDoc: '514', reload: 'restart', doc: 'syslog port' },
    {
      key: 'socket',
      check: { kind: 'custom' },
      type: 'path',
      defaultDoc: '—',
      reload: 'restart',
      doc: 'a Unix stream socket instead of host/port',
    },
  ],
};

export const LOG_SECTION: SectionSchema = {
  prefix: 'log.',
  title: '`log`',
  anchor: 'log',
  keys: [
    {
      key: 'backend',
      check: { kind: 'custom' },
      type: '`stdout` \\| `syslog`',
      defaultDoc: '`stdout`',
      reload: 'restart',
      doc: '`stdout`: stderr in `--log-format`; `syslog`: RFC 5424 messages to `log.syslog`',
    },
    { key: 'application', check: { kind: 'custom' }, type: 'string', defaultDoc: '`statsd`', reload: 'restart', doc: 'syslog APP-NAME' },
    {
      key: 'level',
      check: { kind: 'custom' },
      type: 'pino level or `LOG_*`',
      defaultDoc: '—',
      reload: 'none',
      doc: 'log level (`logLevel` wins)',
    },
    {
      key: 'syslog',
      check: { kind: 'custom' },
      type: 'object',
      defaultDoc: 'UDP 127.0.0.1:514',
      reload: 'restart',
      doc: 'where syslog messages go',
    },
  ],
};

export const HISTOGRAM_SECTION: SectionSchema = {
  prefix: 'histogram[].',
  title: '`histogram[]`',
  anchor: 'histogram',
  keys: [
    {
      key: 'metric',
      check: { kind: 'custom' },
      type: 'string',
      defaultDoc: '—',
      reload: 'backends',
      doc: "substring matched against timer names (first matching rule wins; `''` matches all)",
    },
    {
      key: 'bins',
      check: { kind: 'custom' },
      type: "ascending numbers, optionally ending with `'inf'`",
      defaultDoc: '—',
      reload: 'backends',
      doc: 'bin upper bounds',
    },
  ],
};

export const REPEATER_TARGET_SECTION: SectionSchema = {
  prefix: 'repeater[].',
  title: '`repeater[]`',
  anchor: 'repeater',
  keys: [
    {
      key: 'host',
      check: { kind: 'custom' },
      type: 'string',
      defaultDoc: '—',
      reload: 'backends',
      doc: 'target host (needs `repeater` in `backends`)',
    },
    { key: 'port', check: { kind: 'custom' }, type: 'int 1..65535', defaultDoc: '—', reload: 'backends', doc: 'target port' },
  ],
};

export const CONSOLE_SECTION: SectionSchema = {
  prefix: 'console.',
  title: '`console`',
  anchor: 'console',
  keys: [
    {
      key: 'prettyprint',
      check: { kind: 'bool' },
      def: DEFAULT_CONSOLE_PRETTYPRINT,
      type: 'bool',
      reload: 'backends',
      doc: "indent the console backend's JSON",
    },
  ],
};

const seeSection = (s: SectionSchema): string => `see [${s.title}](#${s.anchor})`;

/** The top level. Keys are read in this order (a key another depends on is read first when asked for), so problems come out in it. */
export const CORE_SECTION: SectionSchema = {
  prefix: '',
  title: 'Top level',
  anchor: 'top-level',
  keys: [
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
    {
      key: 'mgmt_port',
      field: 'mgmtPort',
      check: { kind: 'port', allowZero: true },
      def: DEFAULT_MGMT_PORT,
      type: 'int 0..65535',
      reload: 'pipeline',
      doc: 'admin interface TCP port',
    },
    {
      key: 'mgmt_address',
      field: 'mgmtAddress',
      check: { kind: 'str', nonEmpty: true },
      def: DEFAULT_MGMT_ADDRESS,
      type: 'string',
      reload: 'pipeline',
      doc: 'admin interface address',
    },
    {
      key: 'mgmtMaxConnections',
      field: 'mgmtMaxConnections',
      check: { kind: 'int', min: 1, max: 100_000, expected: 'an integer between 1 and 100000 (connections)' },
      def: DEFAULT_MGMT_MAX_CONNECTIONS,
      type: 'int 1..100000',
      reload: 'pipeline',
      doc: 'tallyd: admin connections open at once; more are refused',
    },
    {
      key: 'mgmtIdleTimeout',
      field: 'mgmtIdleTimeout',
      check: { kind: 'int', min: 0, max: INT_MAX, expected: 'a non-negative integer (ms; 0: never)' },
      def: DEFAULT_MGMT_IDLE_TIMEOUT_MS,
      type: 'ms',
      reload: 'pipeline',
      doc: 'tallyd: an admin connection idle this long is closed (0: never)',
    },
    {
      key: 'flushInterval',
      field: 'flushInterval',
      check: { kind: 'int', min: 1, max: INT_MAX, expected: ms('positive') },
      def: DEFAULT_FLUSH_INTERVAL_MS,
      type: 'ms ≥ 1',
      reload: 'backends',
      doc: 'time between flushes',
    },
    {
      key: 'flushAlignment',
      field: 'flushAlignment',
      check: { kind: 'oneOf', values: ['startup', 'clock'] },
      def: 'startup',
      type: '`startup` \\| `clock`',
      reload: 'restart',
      doc: "tallyd: flushes at start + k × interval (the original's), or on multiples of the interval of the wall clock",
    },
    {
      key: 'percentThreshold',
      field: 'percentThreshold',
      check: { kind: 'custom' },
      def: DEFAULT_PERCENT_THRESHOLD,
      type: 'number or list (≤ 100)',
      defaultDoc: '90',
      reload: 'backends',
      doc: 'timer percentiles; negative N: the top N %',
    },
    {
      key: 'flush_counts',
      field: 'flushCounts',
      check: { kind: 'bool' },
      def: DEFAULT_FLUSH_COUNTS,
      type: 'bool',
      reload: 'backends',
      doc: "also send counters' counts (`stats_counts.*`)",
    },
    {
      key: 'deleteIdleStats',
      check: { kind: 'bool' },
      def: DEFAULT_DELETE_IDLE_STATS,
      type: 'bool',
      reload: 'backends',
      doc: 'default of the four `delete*` keys',
    },
    {
      key: 'deleteCounters',
      field: 'deleteCounters',
      check: { kind: 'custom' },
      type: 'bool',
      defaultDoc: '`deleteIdleStats`',
      reload: 'backends',
      doc: "don't send counters idle this interval",
    },
    {
      key: 'deleteTimers',
      field: 'deleteTimers',
      check: { kind: 'custom' },
      type: 'bool',
      defaultDoc: '`deleteIdleStats`',
      reload: 'backends',
      doc: "don't send idle timers",
    },
    {
      key: 'deleteGauges',
      field: 'deleteGauges',
      check: { kind: 'custom' },
      type: 'bool',
      defaultDoc: '`deleteIdleStats`',
      reload: 'backends',
      doc: 'stop sending a gauge idle for `gaugesMaxTTL` flushes',
    },
    {
      key: 'deleteSets',
      field: 'deleteSets',
      check: { kind: 'custom' },
      type: 'bool',
      defaultDoc: '`deleteIdleStats`',
      reload: 'backends',
      doc: "don't send idle sets",
    },
    {
      key: 'gaugesMaxTTL',
      field: 'gaugesMaxTTL',
      check: { kind: 'custom' },
      def: DEFAULT_GAUGES_MAX_TTL,
      type: 'int > 1',
      reload: 'backends',
      doc: 'flushes an idle gauge is still sent with `deleteGauges`',
    },
    {
      key: 'prefixStats',
      field: 'prefixStats',
      check: { kind: 'str' },
      def: DEFAULT_PREFIX_STATS,
      type: 'string',
      reload: 'backends',
      doc: "name prefix of the daemon's own StatsD metrics",
    },
    {
      key: 'keyNameSanitize',
      field: 'keyNameSanitize',
      check: { kind: 'bool' },
      def: DEFAULT_KEY_NAME_SANITIZE,
      type: 'bool',
      reload: 'backends',
      doc: 'clean metric names on input (Graphite output is always clean; Prometheus label values are never rewritten)',
    },
    {
      key: 'calculatedTimerMetrics',
      field: 'calculatedTimerMetrics',
      check: { kind: 'custom' },
      type: 'list of strings',
      defaultDoc: 'all',
      reload: 'backends',
      doc: 'timer fields sent: `count`, `count_ps`, `lower`, `upper`, `mean`, `median`, `std`, `sum`, `sum_squares`, `histogram`, `<field>_percent`',
    },
    {
      key: 'histogram',
      field: 'histogram',
      check: { kind: 'custom' },
      def: [],
      type: 'list',
      reload: 'backends',
      doc: `timer histograms, ${seeSection(HISTOGRAM_SECTION)}`,
    },
    {
      key: 'timerHistogram',
      field: 'timerHistogram',
      check: { kind: 'bool' },
      def: DEFAULT_TIMER_HISTOGRAM,
      type: 'bool',
      reload: 'pipeline',
      doc: 'tallyd: keep an exponential histogram per timer (exact-count quantiles past the reservoir)',
    },
    {
      key: 'timerHistogramMaxBuckets',
      field: 'timerHistogramMaxBuckets',
      check: {
        kind: 'int',
        min: MIN_TIMER_HISTOGRAM_MAX_BUCKETS,
        max: MAX_TIMER_HISTOGRAM_MAX_BUCKETS,
        expected: `an integer between ${MIN_TIMER_HISTOGRAM_MAX_BUCKETS} and ${MAX_TIMER_HISTOGRAM_MAX_BUCKETS}`,
      },
      def: DEFAULT_TIMER_HISTOGRAM_MAX_BUCKETS,
      type: `int ${MIN_TIMER_HISTOGRAM_MAX_BUCKETS}..${MAX_TIMER_HISTOGRAM_MAX_BUCKETS}`,
      reload: 'pipeline',
      doc: 'tallyd: buckets of that histogram per timer',
    },
    {
      key: 'reservoirSize',
      field: 'reservoirSize',
      check: {
        kind: 'int',
        min: MIN_RESERVOIR_SIZE,
        max: MAX_RESERVOIR_SIZE,
        expected: `an integer between ${MIN_RESERVOIR_SIZE} and ${MAX_RESERVOIR_SIZE}`,
      },
      def: DEFAULT_RESERVOIR_SIZE,
      type: `int ${MIN_RESERVOIR_SIZE}..${MAX_RESERVOIR_SIZE}`,
      reload: 'pipeline',
      doc: 'tallyd: timer samples kept per key per interval',
    },
    {
      key: 'dumpMessages',
      field: 'dumpMessages',
      check: { kind: 'bool' },
      def: false,
      type: 'bool',
      reload: 'none',
      doc: 'log every received packet (info level)',
    },
    {
      key: 'debug',
      field: 'debug',
      check: { kind: 'bool' },
      def: false,
      type: 'bool',
      reload: 'none',
      doc: 'debug logging (`logLevel` wins)',
    },
    {
      key: 'debugInterval',
      check: { kind: 'custom' },
      type: 'ms',
      defaultDoc: '10000',
      reload: 'none',
      doc: "accepted for compatibility (the original's debug dump interval); not used",
    },
    {
      key: 'healthStatus',
      field: 'healthStatus',
      check: { kind: 'oneOf', values: ['up', 'down'] },
      def: DEFAULT_HEALTH_STATUS,
      type: '`up` \\| `down`',
      reload: 'none',
      doc: 'initial answer of the admin `health` command and of `/health`',
    },
    {
      key: 'backends',
      field: 'backends',
      check: { kind: 'custom' },
      type: 'list of strings',
      defaultDoc: "`['graphite']` with `graphiteHost`, else `['console']`",
      reload: 'backends',
      doc: '`graphite`, `console`, `repeater`, `prometheus` (`./backends/x` works), or an npm backend / backend file',
    },
    {
      key: 'keyFlush',
      field: 'keyFlush',
      check: { kind: 'section', section: KEY_FLUSH_SECTION },
      type: 'object',
      defaultDoc: 'off',
      reload: 'restart',
      doc: `most frequent keys log, ${seeSection(KEY_FLUSH_SECTION)}`,
    },
    {
      key: 'automaticConfigReload',
      field: 'automaticConfigReload',
      check: { kind: 'bool' },
      def: DEFAULT_AUTOMATIC_CONFIG_RELOAD,
      type: 'bool',
      reload: 'none',
      doc: 'reload when the config file changes (SIGHUP always reloads)',
    },
    {
      key: 'title',
      field: 'title',
      check: { kind: 'custom' },
      def: DEFAULT_TITLE,
      type: 'string \\| false',
      reload: 'restart',
      doc: "process title; `false` keeps Node's",
    },
    {
      key: 'logLevel',
      field: 'logLevel',
      check: { kind: 'custom' },
      def: DEFAULT_LOG_LEVEL,
      type: 'string',
      reload: 'none',
      doc: 'tallyd: pino level: trace, debug, info, warn, error, fatal, silent',
    },
    {
      key: 'log',
      field: 'log',
      check: { kind: 'custom' },
      type: 'object',
      defaultDoc: 'stderr',
      reload: 'restart',
      doc: `log destination, ${seeSection(LOG_SECTION)}`,
    },
    {
      key: 'graphiteHost',
      field: 'graphite.host',
      check: { kind: 'optStr' },
      type: 'string',
      defaultDoc: 'unset',
      reload: 'backends',
      doc: 'Graphite plaintext receiver host; unset: nothing is sent to Graphite',
    },
    {
      key: 'graphitePort',
      field: 'graphite.port',
      check: { kind: 'port', allowZero: false },
      def: DEFAULT_GRAPHITE_PORT,
      type: 'int 1..65535',
      reload: 'backends',
      doc: 'its port',
    },
    {
      key: 'graphitePicklePort',
      field: 'graphite.picklePort',
      check: { kind: 'port', allowZero: false },
      def: DEFAULT_GRAPHITE_PICKLE_PORT,
      type: 'int 1..65535',
      reload: 'backends',
      doc: "carbon's pickle receiver port, used with `graphiteProtocol: 'pickle'`",
    },
    {
      key: 'graphiteProtocol',
      field: 'graphite.protocol',
      check: {
        kind: 'oneOf',
        values: ['text', 'pickle'],
        expected: "'text' (plaintext to graphitePort) or 'pickle' (to graphitePicklePort)",
      },
      def: 'text',
      type: '`text` \\| `pickle`',
      reload: 'backends',
      doc: "Graphite plaintext, or carbon's pickle protocol (messages of at most 500 points / 512 KiB), with the same queue and at-least-once delivery",
    },
    {
      key: 'graphite',
      field: 'graphite',
      check: { kind: 'section', section: GRAPHITE_SECTION },
      type: 'object',
      defaultDoc: '—',
      reload: 'backends',
      doc: `the graphite backend's section, ${seeSection(GRAPHITE_SECTION)}`,
    },
    {
      key: 'console',
      field: 'console',
      check: { kind: 'section', section: CONSOLE_SECTION },
      type: 'object',
      defaultDoc: '—',
      reload: 'backends',
      doc: `the console backend's section, ${seeSection(CONSOLE_SECTION)}`,
    },
    {
      key: 'repeater',
      field: 'repeater',
      check: { kind: 'custom' },
      def: [],
      type: 'list',
      reload: 'backends',
      doc: `targets of the repeater backend, ${seeSection(REPEATER_TARGET_SECTION)}`,
    },
    {
      key: 'repeaterProtocol',
      field: 'repeaterProtocol',
      check: { kind: 'oneOf', values: ['udp4', 'udp6', 'tcp'] },
      def: DEFAULT_REPEATER_PROTOCOL,
      type: '`udp4` \\| `udp6` \\| `tcp`',
      reload: 'backends',
      doc: 'how the repeater sends',
    },
    {
      key: 'repeaterQueueBytes',
      field: 'repeaterQueueBytes',
      check: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, expected: 'a non-negative integer (bytes)' },
      def: DEFAULT_REPEATER_QUEUE_BYTES,
      type: 'bytes',
      reload: 'backends',
      doc: 'tallyd: with `tcp`, bytes kept per target while it is down; past it the oldest are dropped, counted',
    },
    {
      key: 'prometheus',
      field: 'prometheus',
      check: { kind: 'custom' },
      type: 'object',
      defaultDoc: '—',
      reload: 'backends',
      doc: `the prometheus backend's section, ${seeSection(PROMETHEUS_SECTION)}`,
    },
    {
      key: 'statusPage',
      field: 'statusPage',
      check: { kind: 'section', section: STATUS_PAGE_SECTION },
      type: 'object',
      defaultDoc: 'on, 127.0.0.1:8127',
      reload: 'pipeline',
      doc: `the status page, ${seeSection(STATUS_PAGE_SECTION)}`,
    },
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
    {
      key: 'maxKeys',
      field: 'maxKeys',
      check: { kind: 'int', min: 1, max: INT_MAX, expected: 'a positive integer (keys)' },
      def: DEFAULT_MAX_KEYS,
      type: 'int ≥ 1',
      reload: 'pipeline',
      doc: 'tallyd: live keys; lines for new keys past it are dropped, counted (`keys_dropped`)',
    },
    {
      key: 'idleKeyTtl',
      field: 'idleKeyTtl',
      check: { kind: 'int', min: 0, max: INT_MAX, expected: 'a non-negative integer (flushes)' },
      def: DEFAULT_IDLE_KEY_TTL,
      type: 'int (flushes)',
      reload: 'pipeline',
      doc: 'tallyd: forget a key idle for this many flushes (0: never)',
    },
    {
      key: 'maxKeyLength',
      field: 'maxKeyLength',
      check: { kind: 'int', min: 1, max: MAX_MAX_KEY_LENGTH, expected: `an integer between 1 and ${MAX_MAX_KEY_LENGTH} (bytes)` },
      def: DEFAULT_MAX_KEY_LENGTH,
      type: `bytes 1..${MAX_MAX_KEY_LENGTH}`,
      reload: 'pipeline',
      doc: 'tallyd: longest key (with its tags) or set member; longer lines are bad (`key_too_long`)',
    },
    {
      key: 'keyTableBytes',
      field: 'keyTableBytes',
      check: {
        kind: 'int',
        min: MIN_KEY_TABLE_BYTES,
        max: MAX_KEY_TABLE_BYTES,
        expected: `an integer between ${MIN_KEY_TABLE_BYTES} and ${MAX_KEY_TABLE_BYTES} (bytes)`,
      },
      def: DEFAULT_KEY_TABLE_BYTES,
      type: `bytes ${MIN_KEY_TABLE_BYTES}..${MAX_KEY_TABLE_BYTES}`,
      reload: 'pipeline',
      doc: 'tallyd: bytes of key names held; past it new keys are dropped, counted',
    },
    {
      key: 'setMaxMembers',
      field: 'setMaxMembers',
      check: { kind: 'int', min: 1, max: MAX_SET_MAX_MEMBERS, expected: `an integer between 1 and ${MAX_SET_MAX_MEMBERS} (members)` },
      def: DEFAULT_SET_MAX_MEMBERS,
      type: `int 1..${MAX_SET_MAX_MEMBERS}`,
      reload: 'pipeline',
      doc: 'tallyd: members per set per interval; more are dropped, counted',
    },
  ],
};

/** Every section, in the reference's order. */
export const SECTIONS: readonly SectionSchema[] = [
  CORE_SECTION,
  SERVER_SECTION,
  GRAPHITE_SECTION,
  PROMETHEUS_SECTION,
  STATUS_PAGE_SECTION,
  KEY_FLUSH_SECTION,
  LOG_SECTION,
  SYSLOG_SECTION,
  HISTOGRAM_SECTION,
  REPEATER_TARGET_SECTION,
  CONSOLE_SECTION,
];

/** The keys of a section, as a set. */
export function keysOf(section: SectionSchema): ReadonlySet<string> {
  return new Set(section.keys.map((k) => k.key));
}

const CORE_BY_KEY: ReadonlyMap<string, KeySchema> = new Map(CORE_SECTION.keys.map((k) => [k.key, k]));

/** The top-level key's schema, or undefined for a key tallyd does not know (a plugin backend's section, a typo). */
export function coreKey(key: string): KeySchema | undefined {
  return CORE_BY_KEY.get(key);
}

/** A value compared across reloads: JSON with Infinity kept apart from null. */
function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'inf' : v)) ?? 'undefined';
}

/** The value at a dotted path ('graphite.host'). */
function valueAt(obj: unknown, path: string): unknown {
  let at = obj;
  for (const part of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

/** What backendsNeedRebuild compares: the typed config (fields the schema maps) and the config as written. */
export interface ReloadView {
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Whether a reload from `prev` to `next` must rebuild the backends: a top-level key whose reload
 * effect is `backends` changed (as written, or in the field it is read into), or a key the schema
 * does not know changed (an npm backend reads the whole config, as the original's backends do).
 * Keys only the pipeline reads (listeners, limits, the status page, logging...) never rebuild them.
 */
export function backendsNeedRebuild(prev: ReloadView, next: ReloadView): boolean {
  return changedBackendKeys(prev, next).length > 0;
}

/** The top-level keys behind {@link backendsNeedRebuild}'s answer (for logs and tests). */
export function changedBackendKeys(prev: ReloadView, next: ReloadView): string[] {
  const out: string[] = [];
  for (const key of new Set([...CORE_BY_KEY.keys(), ...Object.keys(prev.raw), ...Object.keys(next.raw)])) {
    const spec = CORE_BY_KEY.get(key);
    if (spec !== undefined && spec.reload !== 'backends') continue;
    if (fingerprint(prev.raw[key]) !== fingerprint(next.raw[key])) out.push(key);
    else if (spec?.field !== undefined && fingerprint(valueAt(prev, spec.field)) !== fingerprint(valueAt(next, spec.field))) out.push(key);
  }
  return out;
}
