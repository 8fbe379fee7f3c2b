/**
 * The key search's long poll (GET /api/keys?q=&after=&wait=): an open page asks once and is answered
 * when a key matching its search is bound, or when the wait ends (its values are refreshed then),
 * instead of asking every 500 ms. A search is "armed" while a page keeps asking for it: the
 * aggregator then tells us of every key bound on its slow path (Aggregator.onKeyBound: new keys
 * only, never per line), and each armed search notes the last one that matched. With no search
 * armed the hook is unset (one null check on the slow path). A cursor is the aggregator's count of
 * keys bound (keysCreated) when an answer was computed: a key bound after it and matching answers at once.
 */
import type { Aggregator } from '../aggregator/aggregator.js';
import type { MetricType } from '../parser/types.js';

/** Longest wait a request may ask for, ms (GET /api/keys?wait=). */
export const MAX_SEARCH_WAIT_MS = 5000;
/**
 * With workers the keys arrive in the workers, and the primary binds them only when it merges their
 * partials: a waiting search is answered after at most this long (the page then asks the workers again).
 */
export const WORKERS_SEARCH_WAIT_MS = 500;
/** A search stays armed this long after its last request. */
export const SEARCH_ARMED_MS = 10_000;
/** Searches armed at once at most (the oldest is disarmed first), and requests waiting at once at most. */
export const ARMED_SEARCHES = 16;
export const WAITING_REQUESTS = 32;

interface Armed {
  /** The cursor when armed: a key bound before it is not known to have matched or not. */
  since: number;
  /** The cursor just after the last key that matched (0: none since armed). */
  matched: number;
  lastAsked: number;
  waiters: Set<() => void>;
}

export class SearchWaits {
  private readonly armed = new Map<string, Armed>();
  private waiting = 0;

  constructor(
    private readonly agg: Aggregator,
    private readonly now: () => number,
  ) {}

  /** The cursor for an answer computed now. */
  get cursor(): number {
    return this.agg.keysCreated;
  }

  /**
   * Resolves (true) once a key whose id holds `q` was bound after the cursor `after`, or when `waitMs`
   * ends; at once when that is already so, when it cannot be known (`q` was armed after `after`, or
   * `after` is from an earlier run), or when too many requests wait. Resolves false when
   * `signal` aborts first (the client went away).
   */
  wait(q: string, after: number, waitMs: number, signal: AbortSignal): Promise<boolean> {
    const a = this.arm(q);
    if (after < a.since || after > this.cursor || a.matched > after || this.waiting >= WAITING_REQUESTS || waitMs <= 0)
      return Promise.resolve(true);
    const ms = this.agg.workerInspect !== null ? Math.min(waitMs, WORKERS_SEARCH_WAIT_MS) : waitMs;
    this.waiting++;
    return new Promise<boolean>((resolve) => {
      const done = (answer: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        a.waiters.delete(wake);
        this.waiting--;
        resolve(answer);
      };
      const wake = (): void => done(true);
      const aborted = (): void => done(false);
      const timer = setTimeout(wake, ms);
      timer.unref(); // (never keeps a stopping daemon alive: closing the server ends the request)
      a.waiters.add(wake);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Arms `q` (or notes that it was asked for again), and the aggregator's hook with it. */
  private arm(q: string): Armed {
    const now = this.now();
    let a = this.armed.get(q);
    if (a === undefined) {
      this.expire(now);
      if (this.armed.size >= ARMED_SEARCHES) {
        const [oldest, o] = this.armed.entries().next().value!;
        for (const w of [...o.waiters]) w();
        this.armed.delete(oldest);
      }
      a = { since: this.cursor, matched: 0, lastAsked: now, waiters: new Set() };
      this.armed.set(q, a);
    } else {
      this.armed.delete(q); // (kept in order of last request: the oldest first)
      this.armed.set(q, a);
      a.lastAsked = now;
    }
    this.agg.onKeyBound = this.keyBound;
    return a;
  }

  /** Disarms the searches not asked for in SEARCH_ARMED_MS (none waits: a waiting request asked within MAX_SEARCH_WAIT_MS); the hook goes with the last. */
  expire(now: number): void {
    for (const [q, a] of this.armed) if (now - a.lastAsked >= SEARCH_ARMED_MS && a.waiters.size === 0) this.armed.delete(q);
    if (this.armed.size === 0 && this.agg.onKeyBound === this.keyBound) this.agg.onKeyBound = null;
  }

  /** Searches armed now (tests). */
  get armedCount(): number {
    return this.armed.size;
  }

  /** From the aggregator's slow path: a key was bound (keysCreated counts it already). */
  private readonly keyBound = (type: number, slot: number): void => {
    const id = this.agg.keyOfSlot(type as MetricType, slot).id;
    for (const [q, a] of this.armed) {
      if (!id.includes(q)) continue;
      a.matched = this.cursor;
      if (a.waiters.size > 0) for (const w of [...a.waiters]) w();
    }
  };
}
