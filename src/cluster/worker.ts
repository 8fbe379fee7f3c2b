/**
 * A cluster worker (`workers` > 1): owns parsing and the interval's aggregation. It listens on the
 * configured servers (node:cluster shares the primary's UDP socket handle with every worker on
 * Node 20; TCP connections are handed out by the primary), and at each flush answers the primary's
 * `collect` with a binary partial (./protocol.ts) of what it aggregated since the previous one.
 *
 * Gauges are kept here as (value, had-a-set) per key and per interval, so that the primary can order
 * sets before deltas (see ../aggregator/merge.ts); counters, timers and sets live in an ordinary
 * Aggregator run with deleteCounters/Timers/Sets on, so every live key is one updated this interval.
 */
import cluster from 'node:cluster';
import { Aggregator, MSG_CLOCK_MS, replayStatusHits, type WorkerInspected } from '../aggregator/aggregator.js';
import { addSaturated } from '../aggregator/finite.js';
import type { PartialVisitor } from '../aggregator/merge.js';
import { prometheusTimerBounds } from '../backends/prometheus/index.js';
import { backendCapabilities, createBackend } from '../backends/registry.js';
import type { Backend, StatusLine } from '../backends/types.js';
import type { TallydConfig } from '../config/types.js';
import { TcpStats } from '../listeners/tcp.js';
import type { Listener } from '../listeners/types.js';
import { componentLogger, createLogger, createSyslogLogger } from '../log/index.js';
import { type BadLine, type DogCount, type MetricKey, MetricType, Sample } from '../parser/types.js';
import { type IngestSink, PacketGuard } from '../pipeline/guard.js';
import { openListener } from '../pipeline/ingest-local.js';
import { createPacketHandler, type PacketPathState } from '../pipeline/packet.js';
import { badLineLogger, logMemoryReport } from '../pipeline/runtime.js';
import { nextTurn } from '../pipeline/scheduler.js';
import type { DroppedKeys, TcpCounts } from '../pipeline/source.js';
import { ingestSelfStats } from '../selfmetrics/index.js';
import { PartialEncoder } from './protocol.js';
import { type PacketBatch, PacketForwarder } from './worker-forward.js';

/** Messages primary → worker. */
export type ToWorker =
  /** `forward`: see the 'forward' message (sent with the first config only). */
  | { t: 'config'; config: TallydConfig; forward?: number }
  /**
   * Forward every received packet to the primary (npm backends' `packet` events, ./worker-forward.ts),
   * with at most `capBytes` queued; 0: forward nothing.
   */
  | { t: 'forward'; capBytes: number }
  | { t: 'collect' }
  /** The status page's sample window opened: count lines per key until the next partial (which carries them). */
  | { t: 'hits' }
  /** The status page's search: this interval's live keys whose id contains `q` (answered with `inspected`). */
  | { t: 'inspect'; id: number; q: string; limit: number }
  | { t: 'stop' };

/** A live key of a worker's interval, as the status page's search sees it (see WorkerAggregator.inspect). */
export type InspectedKey = WorkerInspected;

/** Messages worker → primary (structured clone: the partial travels as bytes). */
export type FromWorker =
  | { t: 'hello' }
  | { t: 'ready'; listeners: string[]; udpPorts: number[]; tcpPorts: number[] }
  | {
      t: 'partial';
      buf: Uint8Array;
      final: boolean;
      /** Its TCP listeners' counts. */
      tcp: TcpCounts;
      /** Its packet backends' (the repeater's) status lines. */
      backends: BackendStatusReport;
      /** Keys it dropped past maxKeys/keyTableBytes this interval (for the primary's warning), or null. */
      dropped: DroppedKeys | null;
      /** Packets not forwarded past workerPacketForwardBytes, since it started. */
      forwardDropped: number;
    }
  | PacketBatch
  | { t: 'inspected'; id: number; keys: InspectedKey[] }
  | { t: 'failed'; message: string };

/** A worker's packet backends' admin `stats` lines, by backend. */
export type BackendStatusReport = Array<{ name: string; groups: Array<{ name: string; lines: StatusLine[] }> }>;

/** The aggregation settings a worker runs with: every key is dropped after each partial. */
export function workerAggregatorConfig(config: TallydConfig): TallydConfig {
  return Object.freeze({
    ...config,
    deleteCounters: true,
    deleteTimers: true,
    deleteSets: true,
    deleteGauges: false,
    idleKeyTtl: 0,
    keyFlush: { ...config.keyFlush, interval: 0 },
  });
}

const INITIAL_GAUGES = 64;

/**
 * The worker's SampleSink: gauges by (value, had-a-set) per interval, everything else into an
 * Aggregator. `exportTo` replays the interval into a PartialVisitor and starts the next one.
 */
export class WorkerAggregator implements IngestSink {
  readonly agg: Aggregator;
  private gValue: Float64Array = new Float64Array(INITIAL_GAUGES);
  private gSet: Uint8Array = new Uint8Array(INITIAL_GAUGES);
  private gTouched: Uint8Array = new Uint8Array(INITIAL_GAUGES);
  private touched: Int32Array = new Int32Array(INITIAL_GAUGES);
  private touchedCount = 0;

  constructor(
    config: TallydConfig,
    opts: { random?: () => number; onBadLine?: (reason: BadLine, buf: Buffer, s: number, e: number) => void } = {},
  ) {
    const aggOpts: ConstructorParameters<typeof Aggregator>[0] = { config: workerAggregatorConfig(config) };
    if (opts.random !== undefined) aggOpts.random = opts.random;
    if (opts.onBadLine !== undefined) aggOpts.onBadLine = opts.onBadLine;
    this.agg = new Aggregator(aggOpts);
  }

  sample(s: Sample): void {
    if (s.type !== MetricType.Gauge) {
      this.agg.sample(s);
      return;
    }
    const slot = this.agg.slotOfSample(s);
    if (slot < 0) return;
    if (slot >= this.gValue.length) this.grow(slot);
    if (this.gTouched[slot] === 0) {
      this.gTouched[slot] = 1;
      this.gValue[slot] = 0;
      this.gSet[slot] = 0;
      if (this.touchedCount >= this.touched.length) {
        const t = new Int32Array(this.touched.length * 2);
        t.set(this.touched);
        this.touched = t;
      }
      this.touched[this.touchedCount++] = slot;
    }
    // a delta on a gauge at 0 (or absent) is a set of the signed value: the same as adding it to 0
    if (s.gaugeDelta) this.gValue[slot] = addSaturated(this.gValue[slot]!, s.value);
    else {
      this.gValue[slot] = s.value;
      this.gSet[slot] = 1;
    }
  }

  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void {
    this.agg.badLine(reason, buf, lineStart, lineEnd);
  }

  dogCount(what: DogCount): void {
    this.agg.dogCount(what);
  }

  get lastBadLineStart(): number {
    return this.agg.lastBadLineStart;
  }

  set lastBadLineStart(v: number) {
    this.agg.lastBadLineStart = v;
  }

  /** See Aggregator.noteTime (called from a coarse timer). */
  noteTime(nowMs: number): void {
    this.agg.noteTime(nowMs);
  }

  countPacket(lines: number): void {
    this.agg.countPacket(lines);
  }

  /** Replay this interval into `out` (lines per key too while the status page counts them), then start the next interval. */
  exportTo(out: PartialVisitor): void {
    // (the hits taken first, while the keys are live; written last, so the rest is the same bytes as without)
    const hits = this.agg.takeWorkerHits();
    this.agg.exportInterval(out);
    for (let i = 0; i < this.touchedCount; i++) {
      const slot = this.touched[i]!;
      out.gauge(this.agg.keyOfSlot(MetricType.Gauge, slot), this.gValue[slot]!, this.gSet[slot] === 1);
      this.gTouched[slot] = 0;
    }
    this.touchedCount = 0;
    if (hits !== null) replayStatusHits(hits, out);
  }

  /** This interval's live keys (since the last partial) whose canonical id contains `q`, at most `limit`. */
  inspect(q: string, limit: number): InspectedKey[] {
    const out: InspectedKey[] = [];
    const add = (type: number, key: MetricKey, value: number, isSet: boolean): void => {
      out.push({ type, name: key.name, tags: key.tags.map(([k, v]) => [k, v]), value, isSet });
    };
    // (the aggregator's gauges hold nothing here: they are kept by this class)
    for (const k of this.agg.inspectKeys(q, limit))
      if (k.type !== MetricType.Gauge && out.length < limit) add(k.type, k.key, k.value, false);
    for (let i = 0; i < this.touchedCount && out.length < limit; i++) {
      const slot = this.touched[i]!;
      const key = this.agg.keyOfSlot(MetricType.Gauge, slot);
      if (key.id.includes(q)) add(MetricType.Gauge, key, this.gValue[slot]!, this.gSet[slot] === 1);
    }
    return out;
  }

  private grow(slot: number): void {
    let cap = this.gValue.length * 2;
    while (cap <= slot) cap *= 2;
    const v = new Float64Array(cap);
    v.set(this.gValue);
    this.gValue = v;
    const s = new Uint8Array(cap);
    s.set(this.gSet);
    this.gSet = s;
    const t = new Uint8Array(cap);
    t.set(this.gTouched);
    this.gTouched = t;
  }
}

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function waitForConfig(): Promise<Extract<ToWorker, { t: 'config' }>> {
  return new Promise((resolve) => {
    const onMsg = (m: ToWorker): void => {
      if (m.t !== 'config') return;
      process.off('message', onMsg);
      resolve(m);
    };
    process.on('message', onMsg);
    // messages sent before a listener exists are lost: ask for the config once listening
    send({ t: 'hello' });
  });
}

/** The worker process: wait for the config, listen, answer collect/stop. Resolves when stopped. */
export async function runWorker(): Promise<void> {
  if (!cluster.isWorker || process.send === undefined) throw new Error('runWorker: not a cluster worker');
  // signals go to the primary, which stops the workers in order (a Ctrl-C reaches the whole group)
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  // the primary gone: nothing to report to
  process.on('disconnect', () => process.exit(0));

  const first = await waitForConfig();
  const config = first.config;
  const root = config.log?.backend === 'syslog' ? createSyslogLogger(config.logLevel, config.log) : createLogger(config.logLevel);
  const log = componentLogger(root, 'worker', { worker: cluster.worker?.id });
  const ingestLog = componentLogger(root, 'ingest', { worker: cluster.worker?.id });
  const wagg = new WorkerAggregator(config, { onBadLine: badLineLogger(ingestLog, () => Date.now()) });
  // the Prometheus histogram buckets of timers, counted exactly here where the values arrive
  wagg.agg.setTimerBounds(prometheusTimerBounds(config));
  setInterval(() => wagg.noteTime(Date.now()), MSG_CLOCK_MS).unref();
  const encoder = new PartialEncoder();
  const sample = new Sample();
  sample.containerIdTag = config.dogstatsdContainerIdTag === true;

  // the backends that want raw packets (the repeater) see every packet where it arrives: here
  const packetBackends: Backend[] = [];
  for (const name of config.backends) {
    if (backendCapabilities(name).wantsPackets !== true) continue;
    const b = createBackend(name, {
      config,
      log: componentLogger(root, 'backend', { backend: name, worker: cluster.worker?.id }),
      startupTime: Math.round(Date.now() / 1000),
      health: () => 'up',
      selfStats: () => ingestSelfStats(wagg.agg),
      // a worker's backends take packets only (no flushes): plain turns, no ingest probe
      yieldToIngest: nextTurn,
    });
    await b.start();
    packetBackends.push(b);
  }

  const hooks = packetBackends.filter((b) => typeof b.packet === 'function');
  const state: PacketPathState = { stopped: false, packetBackends: hooks, dumpMessages: config.dumpMessages };
  // packets for npm backends' 'packet' listeners (in the primary): a packet hook only while the primary asks
  const forwarder = new PacketForwarder(
    0,
    (msg, done) => {
      if (process.send === undefined || !process.connected) return done();
      process.send(msg, undefined, undefined, () => done());
    },
    ingestLog,
  );
  const setForward = (capBytes: number): void => {
    forwarder.setCap(capBytes);
    if (capBytes === 0) forwarder.clear();
    state.packetBackends = capBytes > 0 ? [...hooks, forwarder] : hooks;
  };
  setForward(first.forward ?? 0);
  const handlePacket = createPacketHandler(new PacketGuard(wagg, sample, ingestLog), state, ingestLog);

  const listeners: Listener[] = [];
  const tcpStats = new TcpStats();
  try {
    for (const server of config.servers) listeners.push(await openListener(server, handlePacket, config, wagg, tcpStats, log, true));
  } catch (err) {
    await Promise.allSettled(listeners.map((l) => l.close()));
    send({ t: 'failed', message: (err as Error).message });
    return;
  }

  const partial = (final: boolean): void => {
    wagg.exportTo(encoder);
    const memory = wagg.agg.takeMemoryReport();
    if (memory !== null) logMemoryReport(ingestLog, memory);
    const buf = encoder.finish();
    const { open, refused, idleTimeouts } = tcpStats;
    const d = wagg.agg.takeDroppedKeys();
    send({
      t: 'partial',
      buf,
      final,
      tcp: { open, refused, idleTimeouts },
      backends: packetBackends.map((b) => ({ name: b.name, groups: b.statusGroups?.() ?? [{ name: b.name, lines: b.status() }] })),
      dropped: d === null ? null : { dropped: d.dropped, forBytes: d.forBytes, topPrefixes: d.topPrefixes },
      forwardDropped: forwarder.dropped,
    });
  };

  let stopping = false;
  await new Promise<void>((resolve) => {
    process.on('message', (m: ToWorker) => {
      if (m.t === 'collect') partial(false);
      else if (m.t === 'forward') setForward(m.capBytes);
      else if (m.t === 'inspect') send({ t: 'inspected', id: m.id, keys: wagg.inspect(m.q, m.limit) });
      else if (m.t === 'hits') {
        // (counted afresh from the window's start: what a late window left counting is dropped)
        wagg.agg.setStatusHits(false);
        wagg.agg.setStatusHits(true);
      } else if (m.t === 'config') {
        sample.containerIdTag = m.config.dogstatsdContainerIdTag === true;
        state.dumpMessages = m.config.dumpMessages;
        wagg.agg.reconfigure(workerAggregatorConfig(m.config));
        wagg.agg.setTimerBounds(prometheusTimerBounds(m.config));
      } else if (m.t === 'stop' && !stopping) {
        stopping = true;
        void Promise.allSettled(listeners.map((l) => l.close())).then(async () => {
          state.stopped = true;
          // (sent before the final partial: the primary emits them before the last flush)
          forwarder.flush();
          partial(true);
          await Promise.allSettled(packetBackends.map((b) => b.stop(1000)));
          resolve();
        });
      }
    });
    send({
      t: 'ready',
      listeners: listeners.map((l) => l.description),
      udpPorts: listeners.filter((l) => l.kind === 'udp').map((l) => l.port),
      tcpPorts: listeners.filter((l) => l.kind === 'tcp').map((l) => l.port),
    });
  });
  log.debug('worker stopped');
}
