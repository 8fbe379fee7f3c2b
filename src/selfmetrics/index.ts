/**
 * tallyd's own figures beyond the aggregator's counters (`statsd.packets_received` & co., counted at
 * ingest): each is read here, in one place, and exported from here by every output the same way in
 * one process and with workers:
 * - as gauges in each flushed snapshot (Graphite, console, npm backends): `udp_receive_errors`,
 *   `key_table_bytes`, `tcp_connections_refused`, `tcp_idle_timeouts`;
 * - as SelfStats (Prometheus' tallyd_* metrics, the status page);
 * - as the admin `stats` command's `messages.*` lines.
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
}

export class SelfMetrics {
  /** The last flush's CPU time, ms (see the file comment). */
  lastFlushDurationMs = 0;
  flushes = 0;
  private keysFor = '';
  private udpErrorsKey: MetricKey | null = null;
  private keyBytesKey: MetricKey | null = null;

  constructor(private readonly from: SelfMetricsSources) {}

  /** A flush was handed to the backends after `cpuMs` of CPU time. */
  flushed(cpuMs: number): void {
    this.lastFlushDurationMs = cpuMs;
    this.flushes++;
  }

  /** Kernel receive-buffer drops on the UDP ports read, null where unreadable (or no UDP listener). */
  udpReceiveErrors(): number | null {
    return readUdpDrops(this.from.udpPorts());
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
    const agg = this.from.aggregator;
    const byReason: Record<string, number> = {};
    const counts = agg.badLinesByReason;
    for (let i = 0; i < BAD_LINE_REASONS.length; i++) byReason[BAD_LINE_REASONS[i]!] = counts[i] ?? 0;
    const { open, refused, idleTimeouts } = this.from.tcp();
    return {
      packetsReceived: agg.packetsReceived,
      linesReceived: agg.linesReceived,
      badLinesByReason: byReason,
      lastFlushDurationMs: this.lastFlushDurationMs,
      flushes: this.flushes,
      liveKeys: agg.liveKeys(),
      udpReceiveErrors: this.udpReceiveErrors(),
      tcp: { open, refused, idleTimeouts },
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
    ];
  }
}

function ownKey(name: string): MetricKey {
  return Object.freeze({ name, tags: Object.freeze([]), graphiteTags: '', id: name });
}
