/**
 * The pipeline's (./pipeline.ts) helpers over a RuntimeHost view of it: the backends'
 * context, their in-place reconfiguration, the admin context, handing a snapshot to every backend,
 * draining, the reloadable common settings, the status collector and the rate-limited bad-line log.
 */
import type { Logger } from 'pino';
import type { AdminContext } from '../admin/server.js';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { Snapshot } from '../aggregator/snapshot.js';
import type { Backend, BackendContext, SelfStats } from '../backends/types.js';
import { writeConfigLines } from '../config/index.js';
import type { TallydConfig } from '../config/types.js';
import { componentLogger } from '../log/index.js';
import { LogLimiter } from '../log/ratelimit.js';
import { BAD_LINE_REASONS, type BadLine } from '../parser/types.js';
import type { SelfMetrics } from '../selfmetrics/index.js';
import { StatusCollector } from '../status/collector.js';
import type { YieldToIngest } from './scheduler.js';
import type { DroppedKeys } from './source.js';
import type { FlushTimer } from './timer.js';

/** A live view of the pipeline's state, read by the shared pieces below. */
export interface RuntimeHost {
  readonly aggregator: Aggregator;
  readonly rootLog: Logger;
  /** Unix seconds at start (the original's startup_time). */
  readonly startupSec: number;
  config(): TallydConfig;
  backends(): readonly Backend[];
  getHealth(): 'up' | 'down';
  setHealth(h: 'up' | 'down'): void;
  /** The running totals (src/selfmetrics). */
  selfStats(): SelfStats;
  /** The pipeline's scheduling of sliced work against ingest (./scheduler.ts). */
  readonly yieldToIngest: YieldToIngest;
}

/** The context a backend named `name` is built (or reconfigured) with. */
export function backendContext(host: RuntimeHost, config: TallydConfig, name: string): BackendContext {
  return {
    config,
    log: componentLogger(host.rootLog, 'backend', { backend: name }),
    startupTime: host.startupSec,
    health: () => host.getHealth(),
    selfStats: () => host.selfStats(),
    yieldToIngest: host.yieldToIngest,
  };
}

/**
 * On a reload: each running backend that has a `reconfigure` hook and is still configured takes
 * the new configuration in place. Returns, aligned with `next.backends`, the backend kept for each
 * name (null: the caller builds a new one). A hook that fails is logged at ERROR.
 */
export async function reconfigureBackends(host: RuntimeHost, running: readonly Backend[], next: TallydConfig): Promise<(Backend | null)[]> {
  const pool = running.filter((b) => typeof b.reconfigure === 'function');
  const kept: (Backend | null)[] = [];
  for (const name of next.backends) {
    const i = pool.findIndex((b) => b.name === name);
    let keep: Backend | null = null;
    if (i >= 0) {
      const b = pool[i]!;
      pool.splice(i, 1);
      try {
        if (await b.reconfigure!(backendContext(host, next, name))) keep = b;
      } catch (err) {
        host.rootLog.error(
          { err, backend: name },
          `reload: the ${name} backend refused the new configuration in place: ${(err as Error)?.message ?? String(err)}`,
        );
      }
    }
    kept.push(keep);
  }
  return kept;
}

/** The admin interface's view: its `messages.*` figures from the self-metrics (src/selfmetrics), shown before the backends' own. */
export function runtimeAdminContext(host: RuntimeHost, self: Pick<SelfMetrics, 'adminMessages' | 'adminLines'>): AdminContext {
  // Walks of the keys (dumps, deletes) run one at a time, in arrival order: each is sliced, and at most
  // one dump's entries are held at once however many admin connections ask.
  let walks: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(run: () => Promise<T>): Promise<T> => {
    const next = walks.then(run);
    walks = next.catch(() => undefined);
    return next;
  };
  return {
    startupTime: host.startupSec,
    messages: () => self.adminMessages(),
    backendStatus: () => [
      { name: 'messages', lines: self.adminLines() },
      ...host.backends().flatMap((b) => b.statusGroups?.() ?? [{ name: b.name, lines: b.status() }]),
    ],
    dump: (type) => oneAtATime(() => host.aggregator.dumpSliced(type, host.yieldToIngest)),
    deleteKeys: (type, patterns) => oneAtATime(() => host.aggregator.deleteKeysSliced(type, patterns, host.yieldToIngest)),
    getHealth: () => host.getHealth(),
    setHealth: (h) => host.setHealth(h),
    configText: () => writeConfigLines(host.config().raw as Record<string, unknown>),
    yieldToIngest: host.yieldToIngest,
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
  await Promise.race([Promise.allSettled([...pending]), new Promise((res) => setTimeout(res, drainMs).unref())]);
}

/**
 * The reloadable settings both run modes apply the same way: aggregation (from the next flush),
 * the flush interval, the log level and the configured health. Returns what changed of these.
 */
export function applyCommonConfig(host: RuntimeHost, prev: TallydConfig, next: TallydConfig, timer: FlushTimer | null): string[] {
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
export function badLineLogger(log: Logger, now: () => number): (reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void {
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

/** The WARN, at most once per flush, about what the byte bounds refused or reclaimed in the interval. */
export function logMemoryReport(log: Logger, m: NonNullable<ReturnType<RuntimeHost['aggregator']['takeMemoryReport']>>): void {
  if (m.setMembersDropped > 0) {
    log.warn(
      { setMembersDropped: m.setMembersDropped, setMaxMembers: m.setMaxMembers, sets: m.sets },
      `setMaxMembers reached: dropped ${m.setMembersDropped} new set members this interval (sets: ${m.sets.join(', ')})`,
    );
  }
  if (m.spellingsUncached > 0 || m.spellingsReclaimed > 0) {
    log.warn(
      {
        spellingsUncached: m.spellingsUncached,
        spellingsReclaimed: m.spellingsReclaimed,
        keyBytes: m.keyBytes,
        keyTableBytes: m.keyTableBytes,
      },
      `keyTableBytes: ${m.spellingsReclaimed} cached key spellings reclaimed, ${m.spellingsUncached} lines' spellings not cached (counted, on the slow path)`,
    );
  }
}

/** The status page's collector over the pipeline's state (src/status). */
export function createStatusCollector(host: RuntimeHost, now: () => number): StatusCollector {
  return new StatusCollector({
    aggregator: host.aggregator,
    config: () => host.config(),
    selfStats: () => host.selfStats(),
    backends: () => host.backends(),
    now,
  });
}

/** At most once per flush: the interval's keys dropped past maxKeys/keyTableBytes (here and in the workers), and where they come from. */
export function warnDroppedKeys(
  log: Logger,
  aggregator: Pick<Aggregator, 'takeDroppedKeys' | 'keysDroppedTotal'>,
  config: Pick<TallydConfig, 'maxKeys' | 'keyTableBytes'>,
  elsewhere: readonly DroppedKeys[],
): void {
  const here = aggregator.takeDroppedKeys();
  const all: DroppedKeys[] = here === null ? [...elsewhere] : [here, ...elsewhere];
  if (all.length === 0) return;
  let droppedN = 0;
  let forBytes = 0;
  const prefixes = new Map<string, number>();
  for (const d of all) {
    droppedN += d.dropped;
    forBytes += d.forBytes;
    for (const [p, n] of d.topPrefixes) prefixes.set(p, (prefixes.get(p) ?? 0) + n);
  }
  const top = [...prefixes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
  const bound = forBytes === 0 ? 'maxKeys' : forBytes === droppedN ? 'keyTableBytes' : 'maxKeys and keyTableBytes';
  log.warn(
    {
      dropped: droppedN,
      droppedForBytes: forBytes,
      droppedSinceStart: aggregator.keysDroppedTotal,
      maxKeys: config.maxKeys,
      keyTableBytes: config.keyTableBytes,
      topPrefixes: Object.fromEntries(top),
    },
    `${bound} reached: dropped ${droppedN} lines for new keys this interval (top prefixes: ${top.map(([p, n]) => `${p} (${n})`).join(', ')})`,
  );
}
