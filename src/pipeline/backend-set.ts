/**
 * The pipeline's (./pipeline.ts) backends: built from a config (here, or as a stand-in for one that
 * runs where the packets arrive), wired into ingest, replaced on a reload, and the replaced ones that
 * drain after replacement kept until their queue is delivered.
 */
import type { Logger } from 'pino';
import type { Aggregator } from '../aggregator/aggregator.js';
import { backendCapabilities, createBackend } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { TallydConfig } from '../config/types.js';
import { backendContext, type RuntimeHost, reconfigureBackends } from './runtime.js';
import type { IngestSource } from './source.js';

/** How long a replaced backend that drains after replacement may keep delivering its queue (~24 days: until empty). */
const RETIRE_DRAIN_MS = 2 ** 31 - 1;
/** How long a replaced backend may take to stop before its replacement starts, ms. */
const REPLACE_STOP_MS = 1000;

export class BackendSet {
  /** The backends in force, in `config.backends` order. */
  private list: Backend[] = [];
  /** Replaced backends still draining their queue after a reload (nothing lost). */
  private readonly retiring = new Set<Backend>();

  constructor(
    private readonly host: RuntimeHost,
    private readonly source: IngestSource,
    private readonly aggregator: Aggregator,
    private readonly log: Logger,
  ) {}

  get all(): readonly Backend[] {
    return this.list;
  }

  /** One backend per configured name: built here, or a stand-in for one that runs where the packets arrive. */
  build(config: TallydConfig): Backend[] {
    return config.backends.map((name) => this.source.placeBackend(name) ?? createBackend(name, backendContext(this.host, config, name)));
  }

  /** Puts `backends` in force (at start). */
  install(backends: Backend[]): void {
    this.list = backends;
    this.wire();
  }

  /** The backends' hooks into ingest: raw packets, and a backend's timer buckets (Prometheus histograms) counted exactly by the aggregator. */
  private wire(): void {
    this.source.setBackends(this.list);
    const b = this.list.find((x) => typeof x.timerBounds === 'function');
    this.aggregator.setTimerBounds(b === undefined ? null : (key) => b.timerBounds!(key));
  }

  /**
   * The backends of `next`. One with a `reconfigure` hook takes the new config in place (Prometheus keeps
   * its series). The others are the ones built (and so checked) before the reload changed anything: the
   * old ones are stopped first (a port may need to be freed), except those that drain after replacement,
   * which take no new flushes and drain their queue meanwhile.
   */
  async replace(next: TallydConfig, built: Backend[]): Promise<void> {
    const old = this.list;
    const kept = await reconfigureBackends(this.host, old, next);
    const fresh = next.backends.map((_name, i) => kept[i] ?? built[i]!);
    const replaced = old.filter((b) => !kept.includes(b));
    const started = fresh.filter((b) => !kept.includes(b));
    const drains = (b: Backend): boolean => backendCapabilities(b.name).drainsAfterReplace === true;
    await Promise.allSettled(replaced.filter((b) => !drains(b)).map((b) => b.stop(REPLACE_STOP_MS)));
    const results = await Promise.allSettled(started.map((b) => b.start()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.error({ err: r.reason, backend: started[i]!.name }, 'reload: a backend could not start');
    });
    this.list = fresh;
    this.wire();
    for (const b of replaced.filter(drains)) {
      this.retiring.add(b);
      // no deadline but the queue's byte bound: it stops once every queued flush is delivered
      void b.stop(RETIRE_DRAIN_MS).finally(() => this.retiring.delete(b));
    }
  }

  /** Stops every backend, those in force and those retiring, by `deadline` (Date.now() ms). */
  async stopAll(deadline: number): Promise<void> {
    await Promise.allSettled([...this.list, ...this.retiring].map((b) => b.stop(Math.max(0, deadline - Date.now()))));
  }
}
