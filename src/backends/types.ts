/**
 * The backend interface. A backend is found by name in the registry (src/backends/registry.ts)
 * and built from the frozen config; the core never imports a backend directly.
 *
 * Lifecycle: create → start() → flush() once per interval → stop() (drains, bounded in time).
 */
import type { Logger } from 'pino';
import type { Snapshot } from '../aggregator/snapshot.js';
import type { TallydConfig } from '../config/types.js';
import type { PacketSender } from '../listeners/types.js';
import type { MetricKey } from '../parser/types.js';
import type { YieldToIngest } from '../pipeline/scheduler.js';

/** One `name: value` line of the admin `stats` command, e.g. ['last_flush', 1700000000]. */
export type StatusLine = readonly [stat: string, value: number | string];

export interface BackendContext {
  readonly config: TallydConfig;
  /** A pino child logger with { component: 'backend', backend: name }. */
  readonly log: Logger;
  /** Unix seconds at daemon start (the original's startup_time). */
  readonly startupTime: number;
  /** Current health as set by the admin `health` command. */
  health(): 'up' | 'down';
  /** The daemon's own running totals (for backends that expose them, e.g. Prometheus' tallyd_* metrics). */
  selfStats(): SelfStats;
  /**
   * Gives the event loop back to ingest between slices of a backend's long work (formatting, folding,
   * rendering a flush of a million keys): the pipeline's Scheduler (src/pipeline/scheduler.ts).
   */
  readonly yieldToIngest: YieldToIngest;
}

/** Running totals since start; read at any time (cheap). */
export interface SelfStats {
  readonly packetsReceived: number;
  readonly linesReceived: number;
  /** reason name (BAD_LINE_REASONS) → count */
  readonly badLinesByReason: Readonly<Record<string, number>>;
  /** Duration of the last flush (aggregate + hand-off to backends), ms. */
  readonly lastFlushDurationMs: number;
  readonly flushes: number;
  /** Live keys per type in the aggregator. */
  readonly liveKeys: { readonly counters: number; readonly timers: number; readonly gauges: number; readonly sets: number };
  /** Kernel receive-buffer drops for our UDP socket(s) (/proc/net/udp 'drops'), null where unreadable. */
  readonly udpReceiveErrors: number | null;
  /** Lines for new keys dropped past maxKeys or keyTableBytes since start (Graphite: `keys_dropped`). */
  readonly keysDropped: number;
  /** New set members dropped past setMaxMembers since start (Graphite: `set_members_dropped`). */
  readonly setMembersDropped: number;
  /** Bytes of key names held, what keyTableBytes bounds (Graphite: `key_table_bytes`). */
  readonly keyTableBytes: number;
  /** TCP input connections: open now, refused past tcpMaxConnections and closed idle since start (absent in workers). */
  readonly tcp?: { readonly open: number; readonly refused: number; readonly idleTimeouts: number };
}

export interface Backend {
  /** Registry name: 'graphite', 'console', 'repeater', 'prometheus', ... */
  readonly name: string;
  start(): Promise<void>;
  /**
   * Deliver one interval. Must not mutate the snapshot and must not throw for delivery
   * problems (log and count them instead). `signal` aborts when the daemon stops waiting.
   */
  flush(snapshot: Snapshot, signal?: AbortSignal): Promise<void>;
  /** Optional: every received packet, before parsing (the repeater uses this). */
  packet?(buf: Buffer, start: number, end: number, from?: PacketSender): void;
  /**
   * Optional: true while its `packet()` wants the packets read in other processes (cluster workers)
   * forwarded to it here: an npm backend with a 'packet' listener (src/cluster/worker-forward.ts).
   */
  wantsForwardedPackets?(): boolean;
  /**
   * Optional: upper bounds (in the timer's unit, ms) whose counts of `v <= bound` this backend wants
   * exact for a timer key, or null. The aggregator counts them at ingest (TimerStat.le).
   */
  timerBounds?(key: MetricKey): Float64Array | null;
  /** Lines for the admin `stats` command; `last_*` values are unix seconds (shown as seconds since). */
  status(): StatusLine[];
  /**
   * Optional: take a reloaded configuration in place, keeping the backend's state (Prometheus keeps
   * its cumulative series and its HTTP server). Resolves true when done; false, or a rejection, and
   * the daemon replaces the backend with a new one as it does for backends without this hook.
   */
  reconfigure?(ctx: BackendContext): Promise<boolean>;
  /**
   * Optional: the admin `stats` lines under group names of the backend's choosing (an npm backend
   * writes `influxdb.*`); when present it is used instead of `status()` under the backend's name.
   */
  statusGroups?(): Array<{ name: string; lines: StatusLine[] }>;
  /** Optional: where its delivery stands, for the status page (not the admin `stats`, which stays the original's). */
  state?(): BackendState;
  /** Stop: drain what is pending within `deadlineMs`, close sockets. */
  stop(deadlineMs: number): Promise<void>;
}

export type BackendFactory = (ctx: BackendContext) => Backend;

/** A backend's delivery state, as the status page shows it beside its admin `stats` lines. */
export interface BackendState {
  /** Its target took the last attempt (true), refused or failed it (false); null before any attempt. */
  readonly connected: boolean | null;
  /** Flushes queued during an outage are being re-sent, oldest first. */
  readonly replaying: boolean;
  /** The last failure, as text (`ECONNREFUSED 127.0.0.1:2003`), and when (unix ms); null when none yet. */
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

/**
 * What the pipeline (src/pipeline) must know of a backend beyond its interface, declared at its
 * registration (registry.ts) so that the core never checks a backend's name.
 */
export interface BackendCapabilities {
  /**
   * Its `packet()` must see every received packet. With `workers` > 1 it is built in each worker,
   * where the packets arrive, and the primary's admin `stats` shows the sum of their status lines.
   * (A backend with `packet()` but without this capability, an npm backend listening to 'packet',
   * runs in the primary and gets the workers' packets forwarded while `wantsForwardedPackets()` is true.)
   */
  readonly wantsPackets?: boolean;
  /**
   * When a reload replaces it, the old instance is not stopped first: it takes no new flushes and keeps
   * delivering what it has queued, in the background, until its queue is empty (Graphite's outage queue).
   */
  readonly drainsAfterReplace?: boolean;
}
