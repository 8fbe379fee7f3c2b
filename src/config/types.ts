/**
 * The validated, frozen configuration. Loading (src/config/load.ts) reads the original statsd's
 * config files (JS object literals, JSON) and produces this through the schema (./schema.ts): every
 * default is applied there, so no field is left for a consumer to default. Only the plugin backends
 * (the original's interface) and the admin `config` command read `raw`.
 */
import type { PrometheusConfig } from '../backends/prometheus/config.js';

export interface ServerConfig {
  /**
   * 'udp' or 'tcp' (the original's './servers/udp', './servers/tcp' are accepted too), or 'module':
   * a server module of the original's server interface (src/listeners/module.ts).
   */
  readonly server: 'udp' | 'tcp' | 'module';
  /** module only (else undefined): the module as written (`./my-server.js`, an npm name, an absolute path). */
  readonly module: string | undefined;
  /** module only (else undefined): what start(config, callback) gets: the entry as written (the whole file for the top-level form). */
  readonly moduleConfig: Readonly<Record<string, unknown>> | undefined;
  readonly address: string;
  readonly port: number;
  readonly addressIpv6: boolean;
  /** tcp only: listen on this Unix stream socket path instead of address:port (undefined: address:port). */
  readonly socket: string | undefined;
  /** tcp only: chmod for the Unix socket (octal number, e.g. 0o660); undefined: the umask's. */
  readonly socketMod: number | undefined;
  /** udp only: requested SO_RCVBUF in bytes (the kernel may grant less; logged at start). */
  readonly recvBufferBytes: number;
  /** tcp only: longest accepted line in bytes; longer lines are counted bad and skipped. */
  readonly maxLineLength: number;
  /** tcp only: most connections open at once on this listener (more are closed at once, counted); default tcpMaxConnections. */
  readonly maxConnections: number;
  /** tcp only: ms without a byte either way before a connection is closed (counted); 0: never; default tcpIdleTimeout. */
  readonly idleTimeoutMs: number;
}

export interface GraphiteConfig {
  /** undefined: no Graphite (console output is used when no backend is configured). */
  readonly host: string | undefined;
  readonly port: number;
  readonly legacyNamespace: boolean;
  readonly globalPrefix: string;
  readonly prefixCounter: string;
  readonly prefixTimer: string;
  readonly prefixGauge: string;
  readonly prefixSet: string;
  /** '' when unset. */
  readonly globalSuffix: string;
  /** Connect + write timeout for one flush, ms. */
  readonly timeoutMs: number;
  /** Bytes of undelivered flushes kept during an outage (oldest dropped past it); default 64 MiB. */
  readonly queueBytes: number;
  /** graphiteProtocol: 'text' (plaintext, to `port`; the default) or 'pickle' (to `picklePort`). */
  readonly protocol: 'text' | 'pickle';
  /** graphitePicklePort: carbon's pickle receiver (default 2004), used when protocol is 'pickle'. */
  readonly picklePort: number;
}

export interface HistogramRule {
  /** Substring matched against the timer key; first matching rule wins. */
  readonly metric: string;
  /** Upper bounds, ascending; Infinity stands for 'inf'. */
  readonly bins: readonly number[];
}

/** Where logs go (the original's `log` section). */
export interface LogConfig {
  /** 'stdout' (tallyd: JSON lines on stderr, the default) or 'syslog'. */
  readonly backend: 'stdout' | 'syslog';
  /** The syslog APP-NAME (the original's log.application, default 'statsd'). */
  readonly application: string;
  /**
   * tallyd: where the syslog messages go: a Unix datagram socket (`dgram`, the local form syslog(3)
   * sends; by default /dev/log where it exists), else RFC 5424 over UDP or TCP, or a Unix stream socket.
   */
  readonly syslog: {
    readonly protocol: 'udp' | 'tcp';
    readonly host: string;
    readonly port: number;
    readonly socket: string | undefined;
    readonly dgram: string | undefined;
  };
}

export interface RepeaterTarget {
  readonly host: string;
  readonly port: number;
}

export interface StatusPageConfig {
  readonly enabled: boolean;
  readonly address: string;
  readonly port: number;
  /** Whether `port` was set in the config (a busy default port is only a warning). */
  readonly portConfigured: boolean;
  /** Required when `address` is not a loopback address. */
  readonly token: string | undefined;
}

export interface TallydConfig {
  readonly servers: readonly ServerConfig[];
  readonly mgmtAddress: string;
  readonly mgmtPort: number;
  /** Most admin connections open at once (more are closed at once); default 16. */
  readonly mgmtMaxConnections: number;
  /** ms without a byte either way before an admin connection is closed; 0: never; default 600000. */
  readonly mgmtIdleTimeout: number;
  /** ms */
  readonly flushInterval: number;
  /** As configured (numbers, may be negative or fractional), always a list. */
  readonly percentThreshold: readonly number[];
  readonly flushCounts: boolean;
  readonly deleteCounters: boolean;
  readonly deleteTimers: boolean;
  readonly deleteGauges: boolean;
  readonly deleteSets: boolean;
  /** Flush cycles a gauge survives without update when deleteGauges is on (>= 1). */
  readonly gaugesMaxTTL: number;
  readonly prefixStats: string;
  readonly keyNameSanitize: boolean;
  /** null: every timer metric; else the inclusion list (`count`, `mean_percent`, `histogram`, ...). */
  readonly calculatedTimerMetrics: readonly string[] | null;
  readonly histogram: readonly HistogramRule[];
  readonly dumpMessages: boolean;
  readonly debug: boolean;
  readonly healthStatus: 'up' | 'down';
  /** Normalised backend names: 'graphite', 'console', 'repeater', 'prometheus', ... */
  readonly backends: readonly string[];
  readonly graphite: GraphiteConfig;
  readonly console: { readonly prettyprint: boolean };
  readonly repeater: readonly RepeaterTarget[];
  readonly repeaterProtocol: 'udp4' | 'udp6' | 'tcp';
  /** tcp repeater: bytes queued per target while it is down or slow (oldest dropped past it); default 16 MiB. */
  readonly repeaterQueueBytes: number;
  readonly keyFlush: { readonly interval: number; readonly percent: number; readonly log: string | undefined };
  /** Reservoir slots per timer per interval (Algorithm R). */
  readonly reservoirSize: number;
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  readonly logLevel: string;
  /** Where logs go (the `log` section; default stderr). */
  readonly log: LogConfig;
  /** The process title (`title`, default DEFAULT_TITLE); false leaves Node's own. */
  readonly title: string | false;
  readonly automaticConfigReload: boolean;
  /** Ingest processes (node:cluster workers; 1: a single process). See the README's `workers`. */
  readonly workers: number;
  /** With workers > 1: bytes of packets a worker may have queued to the primary for npm backends' `packet` events. */
  readonly workerPacketForwardBytes: number;
  /**
   * How UDP is read: 'native' (recvmmsg into one preallocated buffer, Linux, when the addon is built;
   * else it falls back to dgram with a log line) or 'dgram' (Node's dgram, a Buffer per datagram).
   */
  readonly udpReader: 'native' | 'dgram';
  /** How long a stop (SIGTERM/SIGINT) waits for backends to drain, ms (default 5000). */
  readonly stopDrainMs: number;
  /** DogStatsD `|c:<id>` (container id) becomes the tag `container_id` (default false: the field is skipped). */
  readonly dogstatsdContainerIdTag: boolean;
  /** Most distinct keys (all types); lines for new keys past it are dropped and counted (default 2,000,000). */
  readonly maxKeys: number;
  /** Flushes a counter/timer/set key may go without an update before it is deleted; 0 = never (default). */
  readonly idleKeyTtl: number;
  /** Longest key accepted, bytes (raw key + DogStatsD tags; also a set member); longer: a bad line `key_too_long` (default 2048). */
  readonly maxKeyLength: number;
  /** Bytes of key names held (raw spellings + canonical keys); past it new keys are dropped, spellings reclaimed (default 1 GiB). */
  readonly keyTableBytes: number;
  /** Most unique members per set per interval; past it new members are dropped and counted (default 100,000). */
  readonly setMaxMembers: number;
  /** Timers past their reservoir in an interval use an exponential histogram (default true). */
  readonly timerHistogram: boolean;
  /** Most buckets per sign of one timer's exponential histogram (default 2048). */
  readonly timerHistogramMaxBuckets: number;
  /**
   * 'startup' (default, the original): flushes at startup + k × flushInterval. 'clock': at wall-clock
   * multiples of flushInterval, so aggregators behind `tallyd proxy` all flush at the same instants.
   */
  readonly flushAlignment: 'startup' | 'clock';
  /** The live status page (src/status): HTTP on address:port; a token is required off loopback. */
  readonly statusPage: StatusPageConfig;
  /** The file this came from, if any. */
  readonly configFile: string | undefined;
  /** The prometheus backend's section (its defaults when the backend is not configured). */
  readonly prometheus: PrometheusConfig;
  /**
   * The config as written (placeholders expanded, command-line overrides applied): for the plugin
   * backends (the original's interface, which reads any key), the admin `config` command, and the
   * reload rule (schema.ts backendsNeedRebuild).
   */
  readonly raw: Readonly<Record<string, unknown>>;
}
