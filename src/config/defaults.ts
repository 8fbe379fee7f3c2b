/**
 * Every default, named. Values follow the original statsd (statsd/statsd exampleConfig.js) unless the
 * comment says tallyd differs.
 */

export const DEFAULT_PORT = 8125;
export const DEFAULT_ADDRESS = '0.0.0.0';
export const DEFAULT_ADDRESS_IPV6 = '::';
export const DEFAULT_MGMT_PORT = 8126;
/** tallyd differs: the original binds the admin interface on 0.0.0.0. */
export const DEFAULT_MGMT_ADDRESS = '127.0.0.1';
export const DEFAULT_FLUSH_INTERVAL_MS = 10_000;
export const DEFAULT_PERCENT_THRESHOLD: readonly number[] = [90];
/**
 * The most entries a `percentThreshold` list may have (each adds 3 to 5 lines per timer per flush). The
 * flush's per-timer percentile count (TimerColumns.np in src/aggregator/flushjob.ts) is a Uint16Array,
 * which holds it; it was a Uint8Array that wrapped past 255 (issue 9).
 */
export const MAX_PERCENT_THRESHOLDS = 100;
export const DEFAULT_FLUSH_COUNTS = true;
export const DEFAULT_DELETE_IDLE_STATS = false;
export const DEFAULT_GAUGES_MAX_TTL = 1;
export const DEFAULT_PREFIX_STATS = 'statsd';
export const DEFAULT_KEY_NAME_SANITIZE = true;
export const DEFAULT_HEALTH_STATUS = 'up';
export const DEFAULT_AUTOMATIC_CONFIG_RELOAD = true;

export const DEFAULT_GRAPHITE_PORT = 2003;
/** graphitePicklePort: carbon's pickle receiver (the original's default). */
export const DEFAULT_GRAPHITE_PICKLE_PORT = 2004;
export const DEFAULT_GRAPHITE_LEGACY_NAMESPACE = true;
export const DEFAULT_GRAPHITE_GLOBAL_PREFIX = 'stats';
export const DEFAULT_GRAPHITE_PREFIX_COUNTER = 'counters';
export const DEFAULT_GRAPHITE_PREFIX_TIMER = 'timers';
export const DEFAULT_GRAPHITE_PREFIX_GAUGE = 'gauges';
export const DEFAULT_GRAPHITE_PREFIX_SET = 'sets';
export const DEFAULT_GRAPHITE_GLOBAL_SUFFIX = '';
/** tallyd's own: connect + write timeout for one Graphite flush. */
export const DEFAULT_GRAPHITE_TIMEOUT_MS = 5000;

export const DEFAULT_CONSOLE_PRETTYPRINT = true;
export const DEFAULT_REPEATER_PROTOCOL = 'udp4';
export const DEFAULT_KEY_FLUSH_INTERVAL_MS = 0;
export const DEFAULT_KEY_FLUSH_PERCENT = 100;

/** tallyd's own: reservoir slots per timer per interval (Algorithm R). */
export const DEFAULT_RESERVOIR_SIZE = 1024;
export const MIN_RESERVOIR_SIZE = 16;
export const MAX_RESERVOIR_SIZE = 1_048_576;
/**
 * tallyd's own: a timer that overflows its reservoir in an interval puts every value into a base-2
 * exponential histogram (src/aggregator/exphist.ts); false keeps the pure reservoir sample.
 */
export const DEFAULT_TIMER_HISTOGRAM = true;
/** tallyd's own: most buckets per sign of one timer's histogram (at 4 bytes each); a wider range lowers the scale. */
export const DEFAULT_TIMER_HISTOGRAM_MAX_BUCKETS = 2048;
export const MIN_TIMER_HISTOGRAM_MAX_BUCKETS = 32;
export const MAX_TIMER_HISTOGRAM_MAX_BUCKETS = 16_384;
/** tallyd's own: requested SO_RCVBUF for each UDP server, bytes (32 MiB). */
export const DEFAULT_UDP_RECV_BUFFER_BYTES = 33_554_432;
/** UDP reading: recvmmsg batches into a preallocated buffer (falls back to dgram where unavailable). */
export const DEFAULT_UDP_READER = 'native';
/** tallyd's own: longest accepted TCP line, bytes. */
export const DEFAULT_TCP_MAX_LINE_LENGTH = 65_536;
/** tallyd's own: most connections open at once per TCP listener (the rest are closed at once and counted). */
export const DEFAULT_TCP_MAX_CONNECTIONS = 1000;
/** tallyd's own: ms a TCP connection may stay without a byte either way before it is closed (5 min; 0: never). */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 300_000;
/** tallyd's own: most admin connections open at once. */
export const DEFAULT_MGMT_MAX_CONNECTIONS = 16;
/** tallyd's own: ms an admin connection may stay idle before it is closed (10 min; 0: never). */
export const DEFAULT_MGMT_IDLE_TIMEOUT_MS = 600_000;
export const DEFAULT_LOG_LEVEL = 'info';
/** tallyd's own: bytes of undelivered Graphite flushes kept during an outage (64 MiB). */
export const DEFAULT_GRAPHITE_QUEUE_BYTES = 64 * 1024 * 1024;
/** tallyd's own: how long a stop waits for backends (Graphite's queue) to drain, ms. */
export const DEFAULT_STOP_DRAIN_MS = 5000;
/**
 * tallyd's own: most distinct keys held at once (all types together). Measured cost: ~246 B per
 * counter key, ~1.1 KB per timer key (RSS per key, bench (b) of `node dist/bench/aggregator.bench.js`),
 * so 2,000,000 counters ≈ 0.5 GB.
 */
export const DEFAULT_MAX_KEYS = 2_000_000;
/** The status page (statusPage section): on, loopback only, beside the admin port. */
export const DEFAULT_STATUS_ADDRESS = '127.0.0.1';
export const DEFAULT_STATUS_PORT = 8127;
/** tallyd's own: flushes without update before a counter/timer/set key is deleted; 0 = off (as the original). */
export const DEFAULT_IDLE_KEY_TTL = 0;
/**
 * tallyd's own: longest key, bytes: the raw key (before the first `:`) plus its DogStatsD `|#tags`;
 * a set member is held to the same length. Far above real names (Graphite paths rarely pass 200 bytes).
 */
export const DEFAULT_MAX_KEY_LENGTH = 2048;
export const MAX_MAX_KEY_LENGTH = 1_048_576;
/**
 * tallyd's own: bytes of key names held (raw spellings in the key table + each live key's decoded
 * name, with their per-entry overhead: keytable.ts ENTRY_BYTES, stores.ts keyCost). 1 GiB holds maxKeys' 2,000,000
 * keys of names up to about 300 bytes. Below 2 GiB, the key table's int32 offsets' limit.
 */
export const DEFAULT_KEY_TABLE_BYTES = 1024 * 1024 * 1024;
export const MIN_KEY_TABLE_BYTES = 65_536;
export const MAX_KEY_TABLE_BYTES = 2 ** 31 - 1;
/** tallyd's own: unique members kept per set per interval (exact up to it; more are dropped and counted). */
export const DEFAULT_SET_MAX_MEMBERS = 100_000;
/** Below V8's Set limit (2^24 entries: past it `Set#add` throws). */
export const MAX_SET_MAX_MEMBERS = 16_000_000;
export const PINO_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Backends tallyd ships; the original's './backends/<name>' spelling normalises to these. */
export const BUILTIN_BACKENDS: readonly string[] = ['graphite', 'console', 'repeater', 'prometheus'];

/**
 * Timer metric names accepted in calculatedTimerMetrics (the original's process_metrics.js names;
 * '<name>_percent' selects the per-percentile variant).
 */
export const TIMER_METRIC_NAMES: readonly string[] = [
  'count',
  'count_ps',
  'lower',
  'mean',
  'median',
  'std',
  'sum',
  'sum_squares',
  'upper',
  'histogram',
  'count_percent',
  'mean_percent',
  'upper_percent',
  'lower_percent',
  'sum_percent',
  'sum_squares_percent',
];

/**
 * The configuration used when no file is given; the same content as config/default.js (a unit test
 * checks they agree): UDP 8125 on 0.0.0.0, admin on 127.0.0.1:8126, console backend, 10 s flushes.
 */
export const EMBEDDED_DEFAULT_CONFIG: Record<string, unknown> = deepFreeze({
  port: DEFAULT_PORT,
  address: DEFAULT_ADDRESS,
  mgmt_port: DEFAULT_MGMT_PORT,
  mgmt_address: DEFAULT_MGMT_ADDRESS,
  flushInterval: DEFAULT_FLUSH_INTERVAL_MS,
  backends: ['./backends/console'],
});

/** Freeze an object graph (plain objects and arrays) in place and return it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * tallyd's own: ingest processes. 1 = one process; N > 1 = a cluster primary (flush, admin, backends)
 * plus N workers sharing the listeners (measured by `npm run build && node dist/bench/workers.bench.js`, figures in
 * bench/RESULTS.md: on the 2-core bench host 2 workers lose to 1, so 1 is the default).
 */
export const DEFAULT_WORKERS = 1;
export const MAX_WORKERS = 256;
/**
 * tallyd's own: with workers > 1, bytes of received packets (and their senders) a worker may have
 * queued to the primary for npm backends' `packet` events (4 MiB: 64 full-size datagrams, or about
 * 100,000 small ones); past it packets are dropped for those events only, counted.
 */
export const DEFAULT_WORKER_PACKET_FORWARD_BYTES = 4 * 1024 * 1024;

/** tallyd's own: bytes the tcp repeater queues per target while it is down or slow (16 MiB). */
export const DEFAULT_REPEATER_QUEUE_BYTES = 16 * 1024 * 1024;

/**
 * tallyd's own: the process title when `title` is not set (the original's is `statsd <arguments>`;
 * scripts that look for that can set `title: 'statsd'`).
 */
export const DEFAULT_TITLE = 'tallyd';
/** The syslog APP-NAME when log.application is not set (the original's default). */
export const DEFAULT_LOG_APPLICATION = 'statsd';
/**
 * Where syslog messages go by default: the local syslog's datagram socket, as the original's
 * syslog(3) (Linux: rsyslog's imuxsock or journald), where it exists; else the local syslog's UDP input.
 */
export const DEFAULT_SYSLOG_DGRAM = '/dev/log';
export const DEFAULT_SYSLOG_HOST = '127.0.0.1';
export const DEFAULT_SYSLOG_PORT = 514;
