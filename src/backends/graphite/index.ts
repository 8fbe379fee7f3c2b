/**
 * The Graphite backend: formats each flush once (format.ts) and hands the bytes to a bounded
 * delivery queue (queue.ts) that sends them over TCP (transport.ts) at least once: a connection is
 * delivered when the receiver closes it in order after reading to the end, anything else resends
 * what it carried, and flushes replay in order after an outage. flush() never waits for the network
 * and never throws.
 *
 * Config: config.graphite, typed and defaulted by the config schema (src/config/schema.ts): host, port,
 * timeoutMs, namespaces, queueBytes (bytes of undelivered flushes kept during an outage); protocol
 * 'pickle' sends pickle messages to picklePort instead, see pickle.ts.
 */
import type { Snapshot } from '../../aggregator/snapshot.js';
import type { Backend, BackendContext, BackendState, StatusLine } from '../types.js';
import { formatGraphiteInto, type GraphiteFormatOptions, graphiteFormatOptions, namespaceConfigFrom } from './format.js';
import { ChunkPool, type Framing, OutgoingFlush } from './outgoing.js';
import { PICKLE_FRAMING } from './pickle.js';
import { DeliveryQueue } from './queue.js';
import { type SendFn, sendTcp } from './transport.js';

export interface GraphiteBackendDeps {
  /** Replaces the TCP transport (tests). */
  readonly send?: SendFn;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** ms clock. */
  readonly now?: () => number;
}

/** Free chunks kept between flushes: the sender's window (high water) plus the replay tail, and a few more. */
const POOLED_CHUNKS = 16;

export class GraphiteBackend implements Backend {
  readonly name = 'graphite';
  private readonly opts: GraphiteFormatOptions;
  private readonly queue: DeliveryQueue;
  private readonly enabled: boolean;
  private readonly now: () => number;
  /** The last flush's formatting (never rejects). */
  private formatTail: Promise<void> = Promise.resolve();
  /** Chunks reused across flushes (enough for the sender's window and replay tail, see outgoing.ts). */
  private readonly pool = new ChunkPool(POOLED_CHUNKS);
  /** Record boundaries of the payload: lines (undefined) or pickle messages. */
  private readonly framing: Framing | undefined;

  constructor(
    private readonly ctx: BackendContext,
    deps: GraphiteBackendDeps = {},
  ) {
    const g = ctx.config.graphite;
    this.opts = graphiteFormatOptions(namespaceConfigFrom(ctx.config));
    this.enabled = g.host !== undefined && g.host !== '';
    this.now = deps.now ?? Date.now;
    const host = g.host ?? '';
    // pickle (graphiteProtocol 'pickle'): the same queue and transport, messages instead of lines
    this.framing = g.protocol === 'pickle' ? PICKLE_FRAMING : undefined;
    const port = g.protocol === 'pickle' ? g.picklePort : g.port;
    const target = { host, port, timeoutMs: g.timeoutMs };
    this.queue = new DeliveryQueue({
      send: deps.send ?? ((flush, signal, limit) => sendTcp(target, flush, signal, limit)),
      log: ctx.log,
      maxBytes: g.queueBytes,
      backoffMinMs: deps.backoffMinMs,
      backoffMaxMs: deps.backoffMaxMs,
      now: this.now,
      lastFlush: ctx.startupTime,
      lastException: 0,
    });
  }

  async start(): Promise<void> {
    const g = this.ctx.config.graphite;
    if (this.enabled) {
      const pickle = g.protocol === 'pickle';
      const port = pickle ? g.picklePort : g.port;
      this.ctx.log.info(
        { host: g.host, port, protocol: pickle ? 'pickle' : 'text', legacyNamespace: g.legacyNamespace },
        'graphite backend ready',
      );
    } else this.ctx.log.warn('graphite backend has no graphiteHost: flushes are discarded (as the original)');
  }

  flush(snapshot: Snapshot): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    // formatted in slices that yield to ingest; one at a time, so flushes enter the queue in order
    const done = this.formatTail.then(() => this.formatAndQueue(snapshot));
    this.formatTail = done;
    return done;
  }

  /**
   * The flush enters the queue before it is formatted: when Graphite is reachable and nothing older
   * waits, its chunks are written while later ones are formatted (bounded memory however many keys).
   */
  private async formatAndQueue(snapshot: Snapshot): Promise<void> {
    const out = new OutgoingFlush({ timestamp: snapshot.timestamp, pool: this.pool, ...(this.framing ? { framing: this.framing } : {}) });
    try {
      const s = this.queue.stats;
      const extra = {
        lastException: s.lastException,
        lastFlush: s.lastFlush,
        flushTime: s.flushTime,
        flushLength: s.flushLength,
        // tallyd's own loss counters: sent from the first drop on (the output is the original's until then)
        droppedFlushes: s.droppedFlushes > 0 ? s.droppedFlushes : undefined,
        droppedLines: s.droppedFlushes > 0 ? s.droppedLines : undefined,
        now: this.now,
      };
      this.queue.push(out);
      await formatGraphiteInto(out, snapshot, this.opts, extra, this.pool, undefined, this.ctx.yieldToIngest);
    } catch (err) {
      // what was formatted (whole lines) is still delivered
      if (!out.complete) out.end(out.lines);
      this.ctx.log.error({ err }, 'graphite: could not format a flush; the rest of it is lost');
    }
  }

  state(): BackendState {
    return this.queue.state();
  }

  status(): StatusLine[] {
    const s = this.queue.stats;
    return [
      ['last_flush', s.lastFlush],
      ['last_exception', s.lastException],
      ['flush_time', s.flushTime],
      ['flush_length', s.flushLength],
      ['queued_bytes', s.queuedBytes],
      ['queued_flushes', s.queuedFlushes],
      ['dropped_flushes', s.droppedFlushes],
      ['dropped_lines', s.droppedLines],
    ];
  }

  async stop(deadlineMs: number): Promise<void> {
    const t0 = Date.now();
    await this.formatTail; // a flush being formatted is queued before the queue drains
    return this.queue.stop(Math.max(0, deadlineMs - (Date.now() - t0)));
  }
}

export function createGraphiteBackend(ctx: BackendContext, deps?: GraphiteBackendDeps): Backend {
  return new GraphiteBackend(ctx, deps);
}
