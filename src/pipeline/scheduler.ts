/**
 * How sliced work off the hot path (the flush compute, Graphite formatting, the Prometheus fold and
 * render, the original's metrics object for npm backends, the admin dump and delete walks) gives the
 * event loop back to ingest between its slices.
 *
 * The pipeline owns one {@link Scheduler} and hands its {@link Scheduler.yieldToIngest} to the flush
 * job, to the backends (BackendContext.scheduler) and to the admin walk; nothing reads a module global.
 *
 * Why more than one turn: a turn of the event loop reads a bounded number of datagrams per socket. The
 * native reader (the default, src/native/udp_recv.c) reads up to MAX_BATCHES_PER_EVENT = 16 recvmmsg
 * batches of 64 per readable event, up to 1,024 datagrams; Node's dgram (`udpReader: "dgram"`, the
 * fallback where the addon is not built, and workers on port 0) reads at most 32 (libuv's
 * uv__udp_recvmsg loop). With one setImmediate between 5 ms slices, dgram would cap ingest at 32 packets
 * per 5 ms (~6k/s) while a flush runs, and the native reader at ~200k/s. With an ingest probe (the
 * running packet count, set by the pipeline when it reads its own sockets), {@link Scheduler.yieldToIngest}
 * keeps yielding while the last turn read BUSY_PACKETS_PER_TURN packets or more (the socket has a
 * backlog), up to MAX_BUSY_TURNS turns, so the flush takes a bounded share of the loop and still
 * finishes. Measured: across the flush of 1M counters + 100k timers, ingest at 750k lines/s lost 0 of
 * 2,423,988 lines (`node dist/bench/run.js --only flush`, bench/e2e/scenarios.ts flushScenario;
 * bench/RESULTS.md, 2026-11-25 15:11).
 */

/** Gives the event loop back to ingest; resolves when the sliced work may go on. */
export type YieldToIngest = () => Promise<void>;

/** Packets read in one turn from which the socket is taken as backlogged (half of dgram's 32 per turn). */
export const BUSY_PACKETS_PER_TURN = 16;
/** Extra turns given to ingest after a slice at most (the flush keeps at least ~1/5 of the loop). */
export const MAX_BUSY_TURNS = 16;

/** One event-loop turn (a setImmediate): the yield of sliced work where no pipeline runs (tests, benches). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The pipeline's scheduling of sliced work against ingest (one per pipeline, or per worker). */
export class Scheduler {
  private probe: (() => number) | null = null;
  private lastSeen = 0;

  /** Registers (or clears) the running packet count that tells whether ingest is backlogged. */
  setIngestProbe(fn: (() => number) | null): void {
    this.probe = fn;
    this.lastSeen = fn === null ? 0 : fn();
  }

  /** Yields one event-loop turn, and more (bounded) while ingest has a backlog. Bound: pass it as a function. */
  readonly yieldToIngest: YieldToIngest = async (): Promise<void> => {
    await nextTurn();
    const p = this.probe;
    if (p === null) return;
    for (let i = 0; i < MAX_BUSY_TURNS; i++) {
      const n = p();
      const busy = n - this.lastSeen >= BUSY_PACKETS_PER_TURN;
      this.lastSeen = n;
      if (!busy) return;
      await nextTurn();
    }
    this.lastSeen = p();
  };
}
