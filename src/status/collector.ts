/**
 * What the status page shows, gathered off the hot path: per-flush history (kept for the last hour
 * in fixed rings), the last few bad lines, backend states, the busiest keys of the last interval and
 * the live key search. Nothing here runs per line. Lines per key (the busiest keys, lines by type)
 * are counted by the aggregator (Aggregator.setStatusHits) only while a page has asked for data in
 * the last VIEW_WINDOW_MS, and then only in a sample window at the end of each flush interval
 * (sampleWindowMs: a tenth of it, at least 100 ms), scaled to the whole interval.
 */
import type { Aggregator, WorkerInspected } from '../aggregator/aggregator.js';
import { makeKey } from '../aggregator/merge.js';
import type { Backend, SelfStats } from '../backends/types.js';
import type { TallydConfig } from '../config/types.js';
import { type MetricKey, MetricType } from '../parser/types.js';
import { KeyNames, type TypeName } from './names.js';
import { SearchWaits } from './waits.js';

export type { TypeName } from './names.js';

/** A page counts as open this long after its last API request. */
export const VIEW_WINDOW_MS = 30_000;
/** Busiest keys kept per interval. */
export const TOP_KEYS = 20;
/**
 * Lines per key are counted in a window at the end of each interval, this share of it (at least
 * SAMPLE_MIN_MS): the per-line count costs ingest a few % while on (node dist/bench/status.bench.js
 * measured 1.04-1.07 × counting all the time), so it runs a tenth of the time.
 */
export const SAMPLE_SHARE = 0.1;
export const SAMPLE_MIN_MS = 100;

/** The sample window (ms) for a flush interval. */
export function sampleWindowMs(flushIntervalMs: number): number {
  return Math.min(flushIntervalMs, Math.max(SAMPLE_MIN_MS, Math.round(flushIntervalMs * SAMPLE_SHARE)));
}
/** Bad lines kept for display, and at most this many recorded per second. */
export const RECENT_BAD_LINES = 10;
const BAD_LINES_PER_SECOND = 10;
/** Shown bytes of a bad line. */
const BAD_LINE_BYTES = 200;
/** Keys whose flushed values are kept (the ones a page asked for, most recent first), and points per key. */
export const WATCHED_KEYS = 16;
export const WATCH_POINTS = 120;
/** Results of one key search. */
export const SEARCH_LIMIT = 50;

export interface StatusHost {
  readonly aggregator: Aggregator;
  config(): TallydConfig;
  selfStats(): SelfStats;
  backends(): readonly Backend[];
  now(): number;
}

/** A ring of numbers: push at the end, oldest dropped past `cap`. */
class Ring {
  private readonly buf: Float64Array;
  private start = 0;
  size = 0;
  constructor(readonly cap: number) {
    this.buf = new Float64Array(cap);
  }
  push(v: number): void {
    if (this.size < this.cap) this.buf[(this.start + this.size++) % this.cap] = v;
    else {
      this.buf[this.start] = v;
      this.start = (this.start + 1) % this.cap;
    }
  }
  toArray(): number[] {
    return this.lastN(this.size);
  }
  /** The newest `n` values (all when fewer), oldest first. */
  lastN(n: number): number[] {
    const k = Math.min(n, this.size);
    const out = new Array<number>(k);
    for (let i = 0, j = this.size - k; i < k; i++, j++) out[i] = this.buf[(this.start + j) % this.cap]!;
    return out;
  }
  /** The newest value, or 0 when empty. */
  last(): number {
    return this.size === 0 ? 0 : this.buf[(this.start + this.size - 1) % this.cap]!;
  }
  /** How many of the newest values are greater than `v` (for a ring of increasing values). */
  countAbove(v: number): number {
    let n = 0;
    while (n < this.size && this.buf[(this.start + this.size - 1 - n) % this.cap]! > v) n++;
    return n;
  }
}

const HISTORY_FIELDS = [
  't',
  'packetsPerSec',
  'linesPerSec',
  'badLinesPerSec',
  'udpDrops',
  'flushMs',
  'numStats',
  'newKeys',
  'liveKeys',
] as const;
type HistoryField = (typeof HISTORY_FIELDS)[number];

export interface RecentBadLine {
  at: number;
  reason: string;
  line: string;
}

export interface KeyView {
  type: TypeName;
  id: string;
  name: string;
  tags: string[][];
  /** This interval's value so far (counter sum, gauge value, timer values, set members). */
  value: number;
  /** Counters: this interval's sum per second so far; others: null. */
  ratePerSec: number | null;
  graphite: string[];
  prometheus: string;
}

/**
 * The primary's live keys and the workers' (one list per worker) as one list, by key: see
 * StatusCollector.search. The primary's keys first, then the workers' new ones; at most SEARCH_LIMIT.
 */
export function mergeInspected(
  local: ReadonlyArray<{ type: MetricType; key: MetricKey; value: number }>,
  workers: readonly WorkerInspected[][],
): Array<{ type: MetricType; key: MetricKey; value: number }> {
  const byKey = new Map<string, { type: MetricType; key: MetricKey; sum: number; set: number | null; local: number | null }>();
  for (const l of local) byKey.set(l.type + ' ' + l.key.id, { type: l.type, key: l.key, sum: 0, set: null, local: l.value });
  for (const list of workers) {
    for (const w of list) {
      const k = makeKey(w.name, w.tags);
      const at = w.type + ' ' + k.id;
      let e = byKey.get(at);
      if (e === undefined) {
        e = { type: w.type as MetricType, key: k, sum: 0, set: null, local: null };
        byKey.set(at, e);
      }
      if (w.type === MetricType.Gauge && w.isSet) e.set = w.value;
      else e.sum += w.value;
    }
  }
  const out: Array<{ type: MetricType; key: MetricKey; value: number }> = [];
  for (const e of byKey.values()) {
    if (out.length >= SEARCH_LIMIT) break;
    const value = e.type === MetricType.Gauge ? (e.set ?? e.local ?? 0) + e.sum : (e.local ?? 0) + e.sum;
    out.push({ type: e.type, key: e.key, value });
  }
  return out;
}

export class StatusCollector {
  private lastViewMs = -Infinity;
  private readonly history: Record<HistoryField, Ring>;
  private readonly recentBad: RecentBadLine[] = [];
  private badSecond = 0;
  private badInSecond = 0;
  private prev: { at: number; packets: number; lines: number; bad: number; created: number; drops: number | null } | null = null;
  private top: Array<{ type: TypeName; id: string; lines: number }> = [];
  private linesByType: number[] | null = null;
  /** ms of the last interval in which lines per key were counted (0: none). */
  private sampledMs = 0;
  private intervalStartMs: number;
  /** When the current sample window opened (lines per key counted since), or null outside one. */
  private windowStartMs: number | null = null;
  /** The timer that opens the next sample window, or null. */
  private windowTimer: NodeJS.Timeout | null = null;
  /** `type id` → flushed values (with their flush times), most recently asked for first. */
  private readonly watched = new Map<string, { t: Ring; v: Ring }>();
  /** Type names and the names a key flushes under (./names.ts). */
  readonly names: KeyNames;
  /** The key search's long poll. */
  readonly waits: SearchWaits;
  /** Points of history kept. */
  readonly historyCap: number;

  constructor(private readonly host: StatusHost) {
    const cap = Math.min(3600, Math.max(60, Math.ceil(3_600_000 / host.config().flushInterval)));
    this.historyCap = cap;
    this.names = new KeyNames(host);
    this.waits = new SearchWaits(host.aggregator, () => host.now());
    this.history = Object.fromEntries(HISTORY_FIELDS.map((f) => [f, new Ring(cap)])) as Record<HistoryField, Ring>;
    this.intervalStartMs = host.now();
    this.prev = { at: this.intervalStartMs, packets: 0, lines: 0, bad: 0, created: 0, drops: null };
  }

  /** A page asked for data: lines per key are sampled in each interval for VIEW_WINDOW_MS. */
  markViewed(): void {
    this.lastViewMs = this.host.now();
    if (this.windowTimer === null && this.windowStartMs === null) this.scheduleWindow();
  }

  /** Opens the sample window at the end of the current interval (at once if that is already due). */
  private scheduleWindow(): void {
    const interval = this.host.config().flushInterval;
    const wait = Math.max(0, this.intervalStartMs + interval - sampleWindowMs(interval) - this.host.now());
    this.windowTimer = setTimeout(() => {
      this.windowTimer = null;
      if (!this.viewing) return;
      this.windowStartMs = this.host.now();
      this.host.aggregator.setStatusHits(true);
    }, wait);
    this.windowTimer.unref(); // (never keeps a stopping daemon alive; a late one only opens a window)
  }

  get viewing(): boolean {
    return this.host.now() - this.lastViewMs < VIEW_WINDOW_MS;
  }

  /** From the aggregator's bad-line hook: keeps the last few (at most BAD_LINES_PER_SECOND a second are decoded). */
  noteBadLine(reason: string, buf: Buffer, start: number, end: number): void {
    const sec = Math.floor(this.host.now() / 1000);
    if (sec !== this.badSecond) {
      this.badSecond = sec;
      this.badInSecond = 0;
    }
    if (++this.badInSecond > BAD_LINES_PER_SECOND) return;
    const line = end > start ? buf.toString('utf8', start, Math.min(end, start + BAD_LINE_BYTES)) : '';
    this.recentBad.push({ at: this.host.now(), reason, line });
    if (this.recentBad.length > RECENT_BAD_LINES) this.recentBad.shift();
  }

  /**
   * Just before the interval is captured: the watched keys' values, the busiest keys counted in the
   * interval's sample window (scaled to the interval), then the next window scheduled while a page is open.
   */
  beforeCapture(): void {
    const agg = this.host.aggregator;
    const now = this.host.now();
    for (const [k, w] of this.watched) {
      const sp = k.indexOf(' ');
      const type = this.names.typeOf(k.slice(0, sp)) as MetricType;
      const v = agg.liveValueOf(type, k.slice(sp + 1));
      w.t.push(now);
      w.v.push(v ?? NaN);
    }
    // (workers mode: the interval, and the workers' counting, ended when the primary asked for their partials)
    const end = Math.max(this.intervalStartMs, Math.min(now, agg.workersCutMs ?? now));
    let hits = this.windowStartMs === null ? null : agg.takeStatusHits(TOP_KEYS);
    // (a window that opened after the workers handed their interval over counted nothing of it)
    if (this.windowStartMs !== null && this.windowStartMs >= end && agg.workersCutMs !== null) hits = null;
    if (hits !== null) {
      const windowMs = Math.max(1, end - this.windowStartMs!);
      const scale = Math.max(1, (end - this.intervalStartMs) / windowMs);
      this.top = hits.top.map((h) => ({ type: this.names.typeName(h.type), id: h.id, lines: Math.round(h.lines * scale) }));
      this.linesByType = hits.byType.map((n) => (n * 1000) / windowMs);
      this.sampledMs = windowMs;
    } else {
      this.top = [];
      this.linesByType = null;
      this.sampledMs = 0;
    }
    agg.setStatusHits(false);
    this.waits.expire(now);
    this.windowStartMs = null;
    this.intervalStartMs = end;
    // (a window still waiting to open belonged to the interval just captured: it is rescheduled)
    if (this.windowTimer !== null) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    if (this.viewing) this.scheduleWindow();
  }

  /** After each flush's compute: one point of history. */
  afterFlush(flushMs: number, numStats: number): void {
    const s = this.host.selfStats();
    const now = this.host.now();
    let bad = 0;
    for (const v of Object.values(s.badLinesByReason)) bad += v;
    const created = this.host.aggregator.keysCreated;
    const cur = { at: now, packets: s.packetsReceived, lines: s.linesReceived, bad, created, drops: s.udpReceiveErrors };
    const p = this.prev;
    const secs = p === null ? 0 : (now - p.at) / 1000;
    const rate = (a: number, b: number): number => (secs > 0 ? (a - b) / secs : 0);
    const h = this.history;
    h.t.push(now);
    h.packetsPerSec.push(p === null ? 0 : rate(cur.packets, p.packets));
    h.linesPerSec.push(p === null ? 0 : rate(cur.lines, p.lines));
    h.badLinesPerSec.push(p === null ? 0 : rate(cur.bad, p.bad));
    h.udpDrops.push(p === null || cur.drops === null || p.drops === null ? 0 : Math.max(0, cur.drops - p.drops));
    h.flushMs.push(flushMs);
    h.numStats.push(numStats);
    h.newKeys.push(p === null ? created : created - p.created);
    const lk = s.liveKeys;
    h.liveKeys.push(lk.counters + lk.timers + lk.gauges + lk.sets);
    this.prev = cur;
  }

  /** The whole page's data (GET /api/status); with `since` (ms), only the history after it. */
  status(since?: number): Record<string, unknown> {
    const s = this.host.selfStats();
    const c = this.host.config();
    const h = this.history;
    const points = since === undefined ? h.t.size : h.t.countAbove(since);
    const history: Record<string, number[]> = {};
    for (const f of HISTORY_FIELDS) history[f] = h[f].lastN(points);
    const lk = s.liveKeys;
    return {
      now: this.host.now(),
      flushInterval: c.flushInterval,
      viewing: this.viewing,
      ingest: {
        packets: s.packetsReceived,
        lines: s.linesReceived,
        udpReceiveErrors: s.udpReceiveErrors,
        packetsPerSec: h.packetsPerSec.last(),
        linesPerSec: h.linesPerSec.last(),
        linesPerSecByType:
          this.linesByType === null
            ? null
            : { counters: this.linesByType[0]!, timers: this.linesByType[1]!, gauges: this.linesByType[2]!, sets: this.linesByType[3]! },
      },
      badLines: {
        byReason: Object.entries(s.badLinesByReason).map(([reason, count]) => ({ reason, count })),
        recent: this.recentBad.slice().reverse(),
      },
      keys: { ...lk, total: lk.counters + lk.timers + lk.gauges + lk.sets, maxKeys: c.maxKeys, created: this.host.aggregator.keysCreated },
      flush: { count: s.flushes, lastMs: s.lastFlushDurationMs },
      history,
      historyCap: this.historyCap,
      backends: this.host.backends().map((b) => ({
        name: b.name,
        state: b.state?.() ?? null,
        lines: b.status().map(([stat, value]) => ({ stat, value: String(value) })),
      })),
      topKeys: this.top,
      topKeysSampledMs: this.sampledMs,
    };
  }

  /**
   * Live keys containing `q` (GET /api/keys?q=). With workers, the interval's lines are in the
   * workers until the flush: their keys are asked for and added to the primary's (by key: counters,
   * timers' values and sets' members added up; a gauge is a worker's value after a set, else the
   * primary's plus the workers' deltas).
   */
  async search(q: string): Promise<{ keys: KeyView[]; cursor: number }> {
    const cursor = this.waits.cursor;
    if (q === '') return { keys: [], cursor };
    const agg = this.host.aggregator;
    const remote = agg.workerInspect === null ? null : await agg.workerInspect(q, SEARCH_LIMIT);
    const secs = Math.max(0.001, (this.host.now() - this.intervalStartMs) / 1000);
    const found = agg.inspectKeys(q, SEARCH_LIMIT);
    const keys = remote === null ? found : mergeInspected(found, remote);
    const views = keys.map(({ type, key, value }) => ({
      type: this.names.typeName(type),
      id: key.id,
      name: key.name,
      tags: key.tags.map(([k, v]) => [k, v]),
      value,
      ratePerSec: type === MetricType.Counter ? value / secs : null,
      ...this.names.outputNames(type, key),
    }));
    return { keys: views, cursor };
  }

  /** A key's flushed values (GET /api/key?type=&id=); the key is watched from now on. */
  keyHistory(type: TypeName, id: string): { t: number[]; v: number[] } {
    const k = type + ' ' + id;
    let w = this.watched.get(k);
    if (w === undefined) {
      w = { t: new Ring(WATCH_POINTS), v: new Ring(WATCH_POINTS) };
      if (this.watched.size >= WATCHED_KEYS) this.watched.delete(this.watched.keys().next().value!);
    } else this.watched.delete(k);
    this.watched.set(k, w); // most recently asked for last; the oldest is dropped first
    return { t: w.t.toArray(), v: w.v.toArray().map((x) => (Number.isNaN(x) ? -1 : x)) };
  }
}
