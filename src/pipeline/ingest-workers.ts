/**
 * Input read by cluster workers (`workers` > 1): N processes (../cluster/worker.ts) listen, parse and
 * aggregate one interval each; at each flush this source asks every worker for its partial
 * (../cluster/protocol.ts) and merges them into the pipeline's aggregator (../aggregator/merge.ts),
 * which the pipeline then flushes as it flushes local input.
 *
 * Backends that want raw packets (BackendCapabilities.wantsPackets: the repeater) run in each worker,
 * where the packets arrive; here a stand-in shows the sum of the workers' status lines
 * (./workers-backends.ts). npm backends run here: while one has a 'packet' listener, the workers
 * forward every packet to this process (./workers-forwarding.ts). The workers' TCP counts, their
 * status lines and the keys they dropped past maxKeys come with each partial; ./worker-handle.ts
 * keeps them, per worker.
 *
 * Stop: the final collect tells the workers to close their listeners and send a final partial; once
 * the pipeline has flushed it, close() lets the workers exit.
 */
import cluster from 'node:cluster';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { mergePartials, type PartialVisitor, type SourceTotals } from '../aggregator/merge.js';
import { backendCapabilities } from '../backends/registry.js';
import type { Backend, StatusLine } from '../backends/types.js';
import { decodePartial } from '../cluster/protocol.js';
import type { FromWorker, InspectedKey, ToWorker } from '../cluster/worker.js';
import type { TallydConfig } from '../config/types.js';
import { WorkerError } from '../errors.js';
import { componentLogger } from '../log/index.js';
import type { Collected, DroppedKeys, IngestHost, IngestSource, TcpCounts } from './source.js';
import { WorkerHandle, workerConfig } from './worker-handle.js';
import { type StatusGroups, sumStatusGroups, WorkersBackendView } from './workers-backends.js';
import { PacketForwarding } from './workers-forwarding.js';

const WORKER_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'cluster', 'worker-main.js');
/** How long a worker may take to start listening, ms. */
const WORKER_START_TIMEOUT_MS = 15_000;
/** Longest wait for the workers' partials at a flush; a later partial is merged into the next flush. */
const MAX_COLLECT_WAIT_MS = 2000;

/** Longest wait for a worker's answer to the status page's search, ms. */
const INSPECT_WAIT_MS = 500;

export class WorkersIngest implements IngestSource {
  readonly collect: (final: boolean) => Promise<Collected>;
  private readonly handles: (WorkerHandle | null)[];
  private readonly log: Logger;
  private stopping = false;
  private inspectSeq = 0;
  private listeners: string[] = [];
  private ports: number[] = [];
  private tcp: number[] = [];
  /** TCP counts and packet backends' status of workers that exited (a replacement starts from 0). */
  private readonly retiredTcp = { refused: 0, idleTimeouts: 0 };
  private retiredBackends = new Map<string, StatusGroups>();
  /** Packets forwarded for npm backends that listen to 'packet'. */
  private readonly forwarding: PacketForwarding;
  /** Forwarding drops of workers that exited. */
  private retiredForwardDropped = 0;

  constructor(private readonly host: IngestHost) {
    this.log = componentLogger(host.rootLog, 'cluster');
    this.handles = new Array<WorkerHandle | null>(Math.max(2, host.config().workers ?? 2)).fill(null);
    this.collect = (final) => this.collectPartials(final);
    this.forwarding = new PacketForwarding(
      this.log,
      () => host.config().workerPacketForwardBytes,
      (capBytes) => {
        for (const h of this.handles) if (h !== null && h.ready !== null) h.send({ t: 'forward', capBytes });
      },
    );
  }

  placeBackend(name: string): Backend | null {
    if (backendCapabilities(name).wantsPackets !== true) return null;
    return new WorkersBackendView(name, () => {
      const reports: StatusGroups[] = [];
      const retired = this.retiredBackends.get(name);
      if (retired !== undefined) reports.push(retired);
      for (const h of this.handles) {
        const r = h?.backends.find((b) => b.name === name);
        if (r !== undefined && !h!.exited) reports.push(r.groups);
      }
      return reports;
    });
  }

  setBackends(backends: readonly Backend[]): void {
    this.forwarding.setBackends(backends);
  }

  /** `messages.packets_forwarded` (handed to npm backends' packet events) and `packets_forward_dropped` (past the cap). */
  adminLines(): StatusLine[] {
    let dropped = this.retiredForwardDropped;
    for (const h of this.handles) if (h !== null && !h.exited) dropped += h.forwardDropped;
    return [
      ['packets_forwarded', this.forwarding.forwarded],
      ['packets_forward_dropped', dropped],
    ];
  }

  async start(): Promise<void> {
    // the status page's sample window (src/status/collector.ts): the workers count lines per key until their next partial
    this.host.aggregator.onStatusHits = (on) => {
      if (!on) return;
      for (const h of this.handles) if (h !== null && h.ready !== null) h.send({ t: 'hits' });
    };
    // the status page's search: the workers hold the interval's lines until the flush
    this.host.aggregator.workerInspect = (q, limit) => this.inspect(q, limit);
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], serialization: 'advanced' });
    // the backends started (npm backends' init ran): the workers forward packets from their first one when one listens
    this.forwarding.start();
    try {
      const ready = await Promise.all(this.handles.map((_, i) => this.fork(i)));
      this.listeners = ready[0]!.listeners;
      this.ports = ready[0]!.udpPorts;
      this.tcp = ready[0]!.tcpPorts;
    } catch (err) {
      this.stopping = true;
      for (const h of this.handles) h?.worker.kill();
      throw err;
    }
  }

  async reconfigure(prev: TallydConfig, next: TallydConfig, backendsChanged: boolean): Promise<string[]> {
    const changed: string[] = [];
    for (const h of this.handles) h?.send({ t: 'config', config: workerConfig(next) });
    this.forwarding.update();
    if (JSON.stringify(next.servers) !== JSON.stringify(prev.servers)) changed.push('servers (applies at restart with workers > 1)');
    if (next.workers !== prev.workers) changed.push('workers (applies at restart)');
    if (backendsChanged && next.backends.some((n) => backendCapabilities(n).wantsPackets === true)) {
      changed.push('backends that read packets (repeater): apply at restart with workers > 1');
    }
    return changed;
  }

  async closeInput(): Promise<void> {
    // (the workers close their listeners when the final collect tells them to stop)
    this.stopping = true;
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.host.aggregator.onStatusHits = null;
    this.host.aggregator.workerInspect = null;
    await Promise.all(
      this.handles.map(
        (h) =>
          new Promise<void>((res) => {
            if (h === null || h.exited) return res();
            // a worker exits by itself once its final partial is sent: if it is already going, telling it
            // to disconnect fails with EPIPE, an 'error' that must not take the primary down
            h.worker.on('error', () => undefined);
            const kill = setTimeout(() => h.worker.kill('SIGKILL'), 3000);
            h.worker.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            if (h.worker.isConnected()) h.worker.disconnect();
          }),
      ),
    );
  }

  listenerDescriptions(): string[] {
    return this.listeners;
  }

  udpPorts(): number[] {
    return this.ports;
  }

  tcpPorts(): number[] {
    return this.tcp;
  }

  /** The workers' TCP counts (as of their last partials), those of exited workers included. */
  tcpCounts(): TcpCounts {
    const t = { open: 0, refused: this.retiredTcp.refused, idleTimeouts: this.retiredTcp.idleTimeouts };
    for (const h of this.handles) {
      if (h === null || h.exited) continue;
      t.open += h.tcp.open;
      t.refused += h.tcp.refused;
      t.idleTimeouts += h.tcp.idleTimeouts;
    }
    return t;
  }

  upFields(): Record<string, unknown> {
    return { workers: this.handles.length };
  }

  /** Every live worker's keys of this interval matching `q` (a worker that does not answer within INSPECT_WAIT_MS: none). */
  private inspect(q: string, limit: number): Promise<InspectedKey[][]> {
    const id = this.inspectSeq++;
    return Promise.all(
      this.handles.map((h) => {
        if (h === null || h.exited || h.ready === null) return Promise.resolve([]);
        return new Promise<InspectedKey[]>((resolve) => {
          const done = (keys: InspectedKey[]): void => {
            clearTimeout(timer);
            h.inspects.delete(id);
            resolve(keys);
          };
          const timer = setTimeout(() => done([]), INSPECT_WAIT_MS);
          h.inspects.set(id, done);
          h.send({ t: 'inspect', id, q, limit });
        });
      }),
    );
  }

  /** Fork the worker for `slot`; resolves when it listens. */
  private fork(slot: number): Promise<Extract<FromWorker, { t: 'ready' }>> {
    const worker = cluster.fork({ TALLYD_WORKER: String(slot) });
    const h = new WorkerHandle(worker, slot);
    this.handles[slot] = h;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new WorkerError(slot, `worker ${slot} did not start within ${WORKER_START_TIMEOUT_MS} ms`)),
        WORKER_START_TIMEOUT_MS,
      );
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'packets') {
          this.forwarding.emit(m);
        } else if (m.t === 'partial') {
          h.forwardDropped = m.forwardDropped;
          h.tcp = m.tcp;
          h.backends = m.backends;
          if (m.dropped !== null) h.dropped.push(m.dropped);
          h.deliver(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
        } else if (m.t === 'inspected') {
          h.inspects.get(m.id)?.(m.keys);
        } else if (m.t === 'ready') {
          h.ready = m;
          // (changed while it started: it was not among the workers told)
          if (this.forwarding.cap !== h.startCap) h.send({ t: 'forward', capBytes: this.forwarding.cap });
          clearTimeout(timer);
          resolve(m);
        } else if (m.t === 'hello') {
          h.startCap = this.forwarding.cap;
          worker.send({ t: 'config', config: workerConfig(this.host.config()), forward: h.startCap } satisfies ToWorker);
        } else if (m.t === 'failed') {
          clearTimeout(timer);
          reject(new WorkerError(slot, m.message));
        }
      });
      worker.on('exit', (code, signal) => {
        h.exited = true;
        this.retiredTcp.refused += h.tcp.refused;
        this.retiredTcp.idleTimeouts += h.tcp.idleTimeouts;
        this.retiredForwardDropped += h.forwardDropped;
        for (const b of h.backends) {
          const prev = this.retiredBackends.get(b.name);
          this.retiredBackends.set(b.name, sumStatusGroups(prev === undefined ? [b.groups] : [prev, b.groups]));
        }
        h.waiter?.(null);
        for (const done of [...h.inspects.values()]) done([]);
        clearTimeout(timer);
        if (h.ready === null) {
          reject(new WorkerError(slot, `worker ${slot} exited during start (code ${code}, signal ${signal})`));
          return;
        }
        if (this.stopping) return;
        // its unflushed interval is lost; the replacement starts with a fresh dictionary
        this.log.error({ worker: slot, code, signal }, 'worker exited: starting a replacement (its data since the last flush is lost)');
        this.fork(slot).catch((err: unknown) => this.log.error({ err, worker: slot }, 'replacement worker failed to start'));
      });
    });
  }

  /** Ask every live worker for its partial (`stop` at the end) and merge what came, late ones first. */
  private async collectPartials(final: boolean): Promise<Collected> {
    if (!final) this.forwarding.update();
    const live = this.handles.filter((h): h is WorkerHandle => h !== null && !h.exited && h.ready !== null);
    const interval = this.host.config().flushInterval;
    const wait = final ? Math.max(MAX_COLLECT_WAIT_MS, 5000) : Math.min(MAX_COLLECT_WAIT_MS, Math.max(100, interval / 2));
    // the interval the workers hand over (and the status page's sample window) ends now
    this.host.aggregator.workersCutMs = this.host.now();
    const fresh = await Promise.all(
      live.map((h) => {
        h.send(final ? { t: 'stop' } : { t: 'collect' });
        return h.next(wait);
      }),
    );
    const t0 = performance.now();
    const sources: Array<{ totals: SourceTotals; feed: (v: PartialVisitor) => void }> = [];
    const dropped: DroppedKeys[] = [];
    live.forEach((h, i) => {
      const bufs = h.late.splice(0);
      const f = fresh[i];
      if (f) bufs.push(f);
      else if (!h.exited) this.log.warn({ worker: h.slot, waitedMs: wait }, 'a worker partial is late: it is merged into the next flush');
      dropped.push(...h.dropped.splice(0));
      for (const buf of bufs) {
        sources.push({
          totals: h.totals,
          feed: (v) => {
            try {
              decodePartial(buf, h.dict, v);
            } catch (err) {
              this.log.error({ err, worker: h.slot }, 'unreadable worker partial: replacing the worker');
              h.worker.kill();
            }
          },
        });
      }
    });
    mergePartials(this.host.aggregator, sources);
    return { mergeCpuMs: performance.now() - t0, dropped };
  }
}
