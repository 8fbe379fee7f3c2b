/**
 * tallyd's own figures beyond the aggregator's counters (`statsd.packets_received` & co., counted at
 * ingest): each is read here, in one place, and exported from here by every output the same way in
 * one process and with workers:
 * - as gauges in each flushed snapshot (Graphite, console, npm backends): `udp_receive_errors`,
 *   `key_table_bytes`, `tcp_connections_refused`, `tcp_idle_timeouts`;
 * - as SelfStats (Prometheus' tallyd_* metrics, the status page; a cluster worker's packet backends
 *   get the same figures of the worker's own ingest, {@link ingestSelfStats});
 * - as the admin `stats` command's `messages.*` lines, the original's four ({@link SelfMetrics.adminMessages})
 *   and tallyd's ({@link SelfMetrics.adminLines}).
 *
 * Each event is counted once, where it happens: packets, lines, bad lines by reason, keys and set
 * members dropped, last_msg_seen in the aggregator; TCP connections in the listeners; UDP drops by the
 * kernel (/proc/net/udp); refused admin connections in the admin server; the flush in {@link SelfMetrics.flushed}.
 * Backends' figures about their own delivery (Graphite's graphiteStats.*, Prometheus' series store)
 * are theirs.
 *
 * Every figure sent to Graphite has its tallyd_* twin on /metrics (packets_received,
 * metrics_received as lines_received, bad_lines_seen by reason, udp_receive_errors, keys_dropped,
 * set_members_dropped, key_table_bytes, tcp_*), except two: timestamp_lag (a flush's lateness
 * against its schedule, not on /metrics: Prometheus scrapes on its own schedule) and the
 * dogstatsd_* counts (which DogStatsD fields were parsed off lines, not a figure of tallyd's
 * health: on /metrics as the user series statsd_dogstatsd_*; the Prometheus backend does not fold
 * the own names that have a tallyd_* twin as user series, prometheus/setup.ts OWN_WITH_TWINS).
 *
 * The flush duration is the CPU time the flushing process's event loop spends on one flush: merging
 * the workers' partials (workers > 1), capturing the interval, computing the snapshot (its slices, not
 * the turns given back to ingest between them) and handing it to the backends. It is not wall time:
 * neither the wait for the workers' partials nor the backends' delivery is in it.
 */
import type { AdminStats } from '../admin/server.js';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { GaugeStat } from '../aggregator/snapshot.js';
import type { SelfStats, StatusLine } from '../backends/types.js';
import type { TallydConfig } from '../config/types.js';
import { tcpGauges } from '../listeners/tcp.js';
import { readUdpDrops } from '../listeners/udp.js';
import { BAD_LINE_REASONS, type MetricKey } from '../parser/types.js';

/** Where the figures come from. */
export interface SelfMetricsSources {
  readonly aggregator: Aggregator;
  config(): TallydConfig;
  /** The UDP ports read (their /proc/net/udp drops are udp_receive_errors). */
  udpPorts(): number[];
  /** TCP input connections (this process's listeners, or the workers' as of their last partials). */
  tcp(): { readonly open: number; readonly refused: number; readonly idleTimeouts: number };
  readonly adminStats: AdminStats;
  /** Optional: the input's own `messages.*` lines (the workers' packet forwarding), shown last. */
  sourceLines?(): StatusLine[];
  /** Optional (tests): the kernel-drops reader and the clock of its cache; default /proc/net/udp and performance.now. */
  readDrops?(ports: readonly number[]): number | null;
  now?(): number;
}

/**
 * How old a kernel-drops reading the running totals ({@link SelfMetrics.stats}: /metrics scrapes, the
 * status page's polls) may reuse. Reading /proc/net/udp costs about 140 µs with a few hundred sockets
 * (bench/status.bench.ts measures the page's whole cost); a flush and the admin `stats` command
 * always read afresh.
 */
export const DROPS_MAX_AGE_MS = 1000;

export class SelfMetrics {
  /** The last flush's CPU time, ms (see the file comment). */
  lastFlushDurationMs = 0;
  flushes = 0;
  private keysFor = '';
  private udpErrorsKey: MetricKey | null = null;
  private keyBytesKey: MetricKey | null = null;
  private dropsReadAt = -Infinity;
  private drops: number | null = null;
  private readonly readDrops: (ports: readonly number[]) => number | null;
  private readonly now: () => number;

  constructor(private readonly from: SelfMetricsSources) {
    this.readDrops = from.readDrops ?? readUdpDrops;
    this.now = from.now ?? (() => performance.now());
  }

  /** A flush was handed to the backends after `cpuMs` of CPU time. */
  flushed(cpuMs: number): void {
    this.lastFlushDurationMs = cpuMs;
    this.flushes++;
  }

  /**
   * Kernel receive-buffer drops on the UDP ports read, null where unreadable (or no UDP listener):
   * read afresh unless a reading at most `maxAgeMs` old is at hand.
   */
  udpReceiveErrors(maxAgeMs = 0): number | null {
    const now = this.now();
    if (now - this.dropsReadAt >= maxAgeMs) {
      this.drops = this.readDrops(this.from.udpPorts());
      this.dropsReadAt = now;
    }
    return this.drops;
  }

  /** The own gauges added to a flushed snapshot (`udpErrors` as read at its capture). */
  gauges(udpErrors: number | null): GaugeStat[] {
    const prefix = this.from.config().prefixStats;
    if (prefix !== this.keysFor) {
      this.keysFor = prefix;
      this.udpErrorsKey = ownKey(prefix + '.udp_receive_errors');
      this.keyBytesKey = ownKey(prefix + '.key_table_bytes');
    }
    const out: GaugeStat[] = [];
    if (udpErrors !== null) out.push({ key: this.udpErrorsKey!, value: udpErrors, updated: true });
    out.push({ key: this.keyBytesKey!, value: this.from.aggregator.keyBytesUsed(), updated: true });
    out.push(...tcpGauges(prefix, this.from.tcp()));
    return out;
  }

  /** Running totals (Prometheus' tallyd_* metrics, the status page). */
  stats(): SelfStats {
    const { open, refused, idleTimeouts } = this.from.tcp();
    return {
      ...ingestSelfStats(this.from.aggregator),
      lastFlushDurationMs: this.lastFlushDurationMs,
      flushes: this.flushes,
      udpReceiveErrors: this.udpReceiveErrors(DROPS_MAX_AGE_MS),
      tcp: { open, refused, idleTimeouts },
    };
  }

  /** The admin `stats` command's original `messages.*` figures. */
  adminMessages(): { last_msg_seen: number; bad_lines_seen: number; packets_received: number; lines_received: number } {
    const agg = this.from.aggregator;
    return {
      last_msg_seen: agg.lastMsgSeen,
      bad_lines_seen: agg.badLinesSeen,
      packets_received: agg.packetsReceived,
      lines_received: agg.linesReceived,
    };
  }

  /** The admin `stats` command's `messages.*` lines after the original's two. */
  adminLines(): StatusLine[] {
    const agg = this.from.aggregator;
    const tcp = this.from.tcp();
    return [
      ['udp_receive_errors', this.udpReceiveErrors() ?? 'null'],
      ['keys_dropped', agg.keysDroppedTotal],
      ['set_members_dropped', agg.setMembersDroppedSinceStart],
      ['key_table_bytes', agg.keyBytesUsed()],
      ['tcp_connections', tcp.open],
      ['tcp_connections_refused', tcp.refused],
      ['tcp_idle_timeouts', tcp.idleTimeouts],
      ['admin_connections_refused', this.from.adminStats.refused],
      ...(this.from.sourceLines?.() ?? []),
    ];
  }
}

/**
 * The ingest figures of an aggregator as SelfStats, no flush yet and no UDP drops read: the pipeline's
 * {@link SelfMetrics.stats} adds its own on top; a cluster worker's packet backends get these as they are.
 */
export function ingestSelfStats(agg: Aggregator): SelfStats {
  const byReason: Record<string, number> = {};
  const counts = agg.badLinesByReason;
  for (let i = 0; i < BAD_LINE_REASONS.length; i++) byReason[BAD_LINE_REASONS[i]!] = counts[i] ?? 0;
  return {
    packetsReceived: agg.packetsReceived,
    linesReceived: agg.linesReceived,
    badLinesByReason: byReason,
    lastFlushDurationMs: 0,
    flushes: 0,
    liveKeys: agg.liveKeys(),
    udpReceiveErrors: null,
    keysDropped: agg.keysDroppedTotal,
    setMembersDropped: agg.setMembersDroppedSinceStart,
    keyTableBytes: agg.keyBytesUsed(),
  };
}

function ownKey(name: string): MetricKey {
  return Object.freeze({ name, tags: Object.freeze([]), graphiteTags: '', id: name });
}
