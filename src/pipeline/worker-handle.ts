/**
 * The primary's side of one cluster worker (../cluster/worker.ts): its IPC channel, the partials it
 * sends (awaited at a flush, or kept when late), and what its last partial reported. Used by
 * ./ingest-workers.ts.
 */
import type { Worker } from 'node:cluster';
import { SourceTotals } from '../aggregator/merge.js';
import { PartialDictionary } from '../cluster/protocol.js';
import type { BackendStatusReport, FromWorker, InspectedKey, ToWorker } from '../cluster/worker.js';
import type { TallydConfig } from '../config/types.js';
import type { DroppedKeys, TcpCounts } from './source.js';

/** One worker as the primary sees it. */
export class WorkerHandle {
  readonly dict = new PartialDictionary();
  readonly totals = new SourceTotals();
  /** Partials that arrived with nobody waiting (late): merged first at the next flush. */
  readonly late: Buffer[] = [];
  /** Keys it dropped in the intervals not yet flushed. */
  readonly dropped: DroppedKeys[] = [];
  waiter: ((buf: Buffer | null) => void) | null = null;
  /** The status page's searches waiting for its answer, by request id. */
  readonly inspects = new Map<number, (keys: InspectedKey[]) => void>();
  ready: Extract<FromWorker, { t: 'ready' }> | null = null;
  exited = false;
  /** Its TCP listeners' counts, as of its last partial. */
  tcp: TcpCounts = { open: 0, refused: 0, idleTimeouts: 0 };
  /** Its packet backends' status lines, by backend name, as of its last partial. */
  backends: BackendStatusReport = [];
  /** Packets it did not forward past workerPacketForwardBytes, as of its last partial. */
  forwardDropped = 0;
  /** The forwarding cap its first config carried. */
  startCap = 0;

  constructor(
    readonly worker: Worker,
    readonly slot: number,
  ) {}

  send(m: ToWorker): void {
    if (!this.exited && this.worker.isConnected()) this.worker.send(m);
  }

  /** The next partial, or null after `timeoutMs` (the partial then lands in `late`). */
  next(timeoutMs: number): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (buf) => {
        clearTimeout(timer);
        this.waiter = null;
        resolve(buf);
      };
    });
  }

  deliver(buf: Buffer): void {
    if (this.waiter !== null) this.waiter(buf);
    else this.late.push(buf);
  }
}

/**
 * The config a worker gets: no raw sections (they may hold what does not survive the IPC clone),
 * except `prometheus` (plain data, validated: workers count its timer buckets, prometheusTimerBounds).
 */
export function workerConfig(config: TallydConfig): TallydConfig {
  let prom = config.raw['prometheus'];
  try {
    prom = structuredClone(prom);
  } catch {
    prom = undefined; // (something not clonable in it: the workers' buckets are then estimated)
  }
  return { ...config, raw: prom === undefined ? {} : { prometheus: prom } };
}
