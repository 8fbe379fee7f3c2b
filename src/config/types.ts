/**
 * The validated, frozen configuration. Loading (src/config/load.ts) reads the original statsd's
 * config files (JS object literals, JSON) and produces this; nothing else reads raw config.
 */

export interface ServerConfig {
  /** 'udp' or 'tcp' (the original's './servers/udp', './servers/tcp' are accepted too). */
  readonly server: 'udp' | 'tcp';
  readonly address: string;
  readonly port: number;
  readonly addressIpv6: boolean;
  /** tcp only: listen on this Unix stream socket path instead of address:port. */
  readonly socket?: string;
  /** tcp only: chmod for the Unix socket (octal number, e.g. 0o660). */
  readonly socketMod?: number;
  /** udp only: requested SO_RCVBUF in bytes (the kernel may grant less; logged at start). */
  readonly recvBufferBytes: number;
  /** tcp only: longest accepted line in bytes; longer lines are counted bad and skipped. */
  readonly maxLineLength: number;
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
  readonly queueBytes?: number;
}

export interface HistogramRule {
  /** Substring matched against the timer key; first matching rule wins. */
  readonly metric: string;
  /** Upper bounds, ascending; Infinity stands for 'inf'. */
  readonly bins: readonly number[];
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
  readonly repeaterProtocol: 'udp4' | 'udp6';
  readonly keyFlush: { readonly interval: number; readonly percent: number; readonly log: string | undefined };
  /** Reservoir slots per timer per interval (Algorithm R). */
  readonly reservoirSize: number;
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  readonly logLevel: string;
  readonly automaticConfigReload: boolean;
  /** Ingest processes (node:cluster workers; 1: a single process). See the README's `workers`. */
  readonly workers?: number;
  /**
   * How UDP is read: 'native' (recvmmsg into one preallocated buffer, Linux, when the addon is built;
   * else it falls back to dgram with a log line) or 'dgram' (Node's dgram, a Buffer per datagram).
   */
  readonly udpReader?: 'native' | 'dgram';
  /** How long a stop (SIGTERM/SIGINT) waits for backends to drain, ms (default 5000). */
  readonly stopDrainMs?: number;
  /** Most distinct keys (all types); lines for new keys past it are dropped and counted (default 2,000,000). */
  readonly maxKeys?: number;
  /** Flushes a counter/timer/set key may go without an update before it is deleted; 0 = never (default). */
  readonly idleKeyTtl?: number;
  /** The live status page (src/status): HTTP on address:port; a token is required off loopback. */
  readonly statusPage: StatusPageConfig;
  /** The file this came from, if any. */
  readonly configFile: string | undefined;
  /**
   * Sections this module does not interpret (a backend's own, e.g. `prometheus`), and the
   * original object for the admin `config` command. Backends validate their own section.
   */
  readonly raw: Readonly<Record<string, unknown>>;
}
