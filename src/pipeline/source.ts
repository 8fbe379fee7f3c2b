/**
 * Where the pipeline's input comes from: listeners in this process (./ingest-local.ts), or cluster
 * workers that parse and aggregate and hand their intervals over at each flush (./ingest-workers.ts).
 * The pipeline (./pipeline.ts) runs everything else the same way over either.
 */
import type { Logger } from 'pino';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { Backend, StatusLine } from '../backends/types.js';
import type { TallydConfig } from '../config/types.js';

/** What a source sees of the pipeline. */
export interface IngestHost {
  readonly aggregator: Aggregator;
  readonly rootLog: Logger;
  /** The pipeline's own logger (component 'daemon'). */
  readonly log: Logger;
  config(): TallydConfig;
  /** The pipeline's clock (ms). */
  now(): number;
}

/** TCP input connections: open now, refused past tcpMaxConnections, closed idle (since start). */
export interface TcpCounts {
  readonly open: number;
  readonly refused: number;
  readonly idleTimeouts: number;
}

/** Lines for new keys dropped past maxKeys/keyTableBytes in one interval (Aggregator.takeDroppedKeys' shape, without the totals). */
export interface DroppedKeys {
  readonly dropped: number;
  readonly forBytes: number;
  readonly topPrefixes: Array<[string, number]>;
}

/** What a source's collect step brought into the aggregator. */
export interface Collected {
  /** CPU time spent merging on this event loop (counted in the flush duration), ms. */
  readonly mergeCpuMs: number;
  /** Keys the source dropped this interval (where they were dropped before reaching the aggregator). */
  readonly dropped: readonly DroppedKeys[];
}

export interface IngestSource {
  /** Starts reading input; rejects (nothing left open) when it cannot. */
  start(): Promise<void>;
  /**
   * The backend to use for `name` when it must run where the packets arrive and that is elsewhere
   * (a stand-in showing the workers' instances); null: the pipeline builds it here.
   */
  placeBackend(name: string): Backend | null;
  /** The backends in force (after start and after each reload). */
  setBackends(backends: readonly Backend[]): void;
  /**
   * Brings the input's interval into the aggregator before a flush captures it (`final`: the last one,
   * at stop). Null when input lands in the aggregator directly: the capture is then synchronous at the tick.
   */
  readonly collect: ((final: boolean) => Promise<Collected>) | null;
  /** A reload: applies what input settings it can; returns what changed (and what applies at restart). */
  reconfigure(prev: TallydConfig, next: TallydConfig, backendsChanged: boolean): Promise<string[]>;
  /** Stop: no more input is read (before the final flush). */
  closeInput(): Promise<void>;
  /** Stop, after the final flush: what is left (worker processes) goes. */
  close(): Promise<void>;
  listenerDescriptions(): string[];
  udpPorts(): number[];
  tcpPorts(): number[];
  tcpCounts(): TcpCounts;
  /** Optional: the source's own admin `stats` lines (`messages.*`, after the pipeline's). */
  adminLines?(): StatusLine[];
  /** Extra fields of the `tallyd is up` line. */
  upFields(): Record<string, unknown>;
}
