/**
 * What the single-process daemon (./daemon.ts) and the cluster primary (./cluster/primary.ts) run
 * the same way once they hold an Aggregator and backends: self-stats, the admin context, backend
 * creation, handing a snapshot to every backend, draining, the reloadable common settings and the
 * rate-limited bad-line log. Each owner keeps its own state and passes a RuntimeHost view of it.
 */
import type { Logger } from 'pino';
import type { AdminContext } from './admin/server.js';
import type { Aggregator } from './aggregator/aggregator.js';
import type { Snapshot } from './aggregator/snapshot.js';
import { createBackend } from './backends/registry.js';
import type { Backend, SelfStats, StatusLine } from './backends/types.js';
import { writeConfigLines } from './config/index.js';
import type { TallydConfig } from './config/types.js';
import type { FlushTimer } from './flusher/timer.js';
import { readUdpDrops } from './listeners/udp.js';
import { componentLogger } from './log/index.js';
import { BAD_LINE_REASONS, type BadLine } from './parser/types.js';
import { LogLimiter } from './selfmetrics/ratelimit.js';

/** A live view of a daemon's (or cluster primary's) state, read by the shared pieces below. */
export interface RuntimeHost {
  readonly aggregator: Aggregator;
  readonly rootLog: Logger;
  /** Unix seconds at start (the original's startup_time). */
  readonly startupSec: number;
  config(): TallydConfig;
  backends(): readonly Backend[];
  getHealth(): 'up' | 'down';
  setHealth(h: 'up' | 'down'): void;
  udpPorts(): number[];
  lastFlushDurationMs(): number;
  flushes(): number;
}

/** Running totals for backends (Prometheus' tallyd_* metrics). */
export function runtimeSelfStats(host: RuntimeHost): SelfStats {
  const byReason: Record<string, number> = {};
  const counts = host.aggregator.badLinesByReason;
  for (let i = 0; i < BAD_LINE_REASONS.length; i++) byReason[BAD_LINE_REASONS[i]!] = counts[i] ?? 0;
  return {
    packetsReceived: host.aggregator.packetsReceived,
    linesReceived: host.aggregator.linesReceived,
    badLinesByReason: byReason,
    lastFlushDurationMs: host.lastFlushDurationMs(),
    flushes: host.flushes(),
    liveKeys: host.aggregator.liveKeys(),
    udpReceiveErrors: readUdpDrops(host.udpPorts()),
  };
}

/** One backend per configured name, each with its own child logger. */
export function createBackends(host: RuntimeHost, config: TallydConfig): Backend[] {
  return config.backends.map((name) =>
    createBackend(name, {
      config,
      log: componentLogger(host.rootLog, 'backend', { backend: name }),
      startupTime: host.startupSec,
      health: () => host.getHealth(),
      selfStats: () => runtimeSelfStats(host),
    }),
  );
}

/** The admin interface's view; `extraStatus` sections are shown before the backends' own. */
export function runtimeAdminContext(
  host: RuntimeHost,
  extraStatus: () => Array<{ name: string; lines: StatusLine[] }> = () => [],
): AdminContext {
  return {
    startupTime: host.startupSec,
    messages: () => ({
      last_msg_seen: host.aggregator.lastMsgSeen,
      bad_lines_seen: host.aggregator.badLinesSeen,
    }),
    backendStatus: () => [...extraStatus(), ...host.backends().map((b) => ({ name: b.name, lines: b.status() }))],
    dump: (type) => host.aggregator.dump(type),
    deleteKeys: (type, patterns) => host.aggregator.deleteKeys(type, patterns),
    getHealth: () => host.getHealth(),
    setHealth: (h) => host.setHealth(h),
    configText: () => writeConfigLines(host.config().raw as Record<string, unknown>),
  };
}

/**
 * Hands `snapshot` to every backend (they never block each other); the delivery is tracked in
 * `pending` until settled, and each failure is logged.
 */
export function deliverToBackends(backends: readonly Backend[], snapshot: Snapshot, pending: Set<Promise<unknown>>, log: Logger): void {
  const deliveries = Promise.allSettled(backends.map((b) => b.flush(snapshot)));
  pending.add(deliveries);
  void deliveries.then((results) => {
    pending.delete(deliveries);
    results.forEach((r, i) => {
      if (r.status === 'rejected') log.error({ err: r.reason, backend: backends[i]?.name }, 'backend flush failed');
    });
  });
}

/** Waits for the pending deliveries, at most `drainMs`. */
export async function drainDeliveries(pending: ReadonlySet<Promise<unknown>>, drainMs: number): Promise<void> {
  await Promise.race([
    Promise.allSettled([...pending]),
    new Promise((res) => setTimeout(res, drainMs).unref()),
  ]);
}

/**
 * The reloadable settings both run modes apply the same way: aggregation (from the next flush),
 * the flush interval, the log level and the configured health. Returns what changed of these.
 */
export function applyCommonConfig(
  host: RuntimeHost,
  prev: TallydConfig,
  next: TallydConfig,
  timer: FlushTimer | null,
): string[] {
  const changed: string[] = [];
  host.aggregator.reconfigure(next);
  if (next.flushInterval !== prev.flushInterval) {
    timer?.setInterval(next.flushInterval);
    changed.push('flushInterval');
  }
  if (next.logLevel !== prev.logLevel) {
    host.rootLog.level = next.logLevel;
    changed.push('logLevel');
  }
  if (next.healthStatus !== prev.healthStatus) host.setHealth(next.healthStatus);
  if (next.flushAlignment !== prev.flushAlignment) changed.push('flushAlignment (applies at restart)');
  return changed;
}

/** The Aggregator's onBadLine: a WARN with the reason and the line's start, at most one per 10 s. */
export function badLineLogger(
  log: Logger,
  now: () => number,
): (reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void {
  const limiter = new LogLimiter(10_000, now);
  return (reason, buf, lineStart, lineEnd) => {
    if (!limiter.take()) return;
    log.warn(
      {
        reason: BAD_LINE_REASONS[reason],
        line: lineEnd > lineStart ? buf.toString('utf8', lineStart, Math.min(lineEnd, lineStart + 200)) : undefined,
        suppressed: limiter.suppressedSince(),
      },
      'bad line',
    );
  };
}
