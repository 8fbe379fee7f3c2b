/**
 * Graphite plaintext formatting: a snapshot to the bytes of one flush, written in line-aligned chunks (see outgoing.ts).
 *
 * Names and values follow the original statsd's backends/graphite.js + lib/process_metrics.js:
 *  - a line is `<path> <value> <unix seconds>\n`, the value formatted as JavaScript's String(number);
 *  - legacy namespace (the default): `stats.KEY` (rate), `stats_counts.KEY` (count), `stats.timers.KEY.FIELD`,
 *    `stats.gauges.KEY`, `stats.sets.KEY.count`, `statsd.numStats`, `stats.statsd.*`. As in the original,
 *    the legacy namespace ignores globalPrefix and the per-type prefixes (they apply to the new namespace);
 *  - new namespace: `[globalPrefix].[prefixCounter].KEY.rate|count`, `[globalPrefix].[prefixTimer].KEY.FIELD`, ...
 *    with empty prefixes left out;
 *  - globalSuffix: `.suffix` after the path; the key's Graphite tags (`;k=v`, sorted) after the suffix.
 *
 * Everything that depends only on the config (namespaces, which timer fields are kept) is computed once
 * by {@link graphiteFormatOptions}; the per-flush loop only concatenates strings.
 */
import { saturate } from '../../aggregator/finite.js';
import type { Snapshot, TimerStat } from '../../aggregator/snapshot.js';
import type { GraphiteConfig, TallydConfig } from '../../config/types.js';
import { nextTurn, type YieldToIngest } from '../../pipeline/scheduler.js';
import { ChunkPool, OutgoingFlush } from './outgoing.js';
import { sanitizeKey } from '../../parser/canonical.js';
import { PickleChunkOut } from './pickle.js';
import { timerFieldFilter, type TimerFieldFilter } from '../timer-fields.js';


/** Precomputed path pieces. Every prefix string is either '' or ends with '.'. */
export interface GraphiteFormatOptions {
  readonly legacy: boolean;
  /** Path before KEY for the counter rate: legacy `stats.`, new `stats.counters.`. */
  readonly counterRatePrefix: string;
  /** After KEY for the rate: legacy '', new `.rate`. */
  readonly counterRateField: string;
  /** Path before KEY for the count: legacy `stats_counts.`, new `stats.counters.`. */
  readonly counterCountPrefix: string;
  /** After KEY for the count: legacy '', new `.count`. */
  readonly counterCountField: string;
  readonly timerPrefix: string;
  readonly gaugePrefix: string;
  readonly setPrefix: string;
  /** Full path of numStats: legacy `statsd.numStats`, new `stats.statsd.numStats`. */
  readonly numStatsPath: string;
  /** Prefix of the daemon's own figures (`processing_time`, `graphiteStats.calculationtime`). */
  readonly internalPrefix: string;
  /** Prefix of graphiteStats.last_exception etc.: `stats.statsd.graphiteStats.`. */
  readonly graphiteStatsPrefix: string;
  /** `.suffix` or ''. */
  readonly suffix: string;
  readonly flushCounts: boolean;
  readonly timerFields: TimerFieldFilter;
  /**
   * Clean each key's name on the way out (keyNameSanitize is off, so names reach here as received):
   * the original's graphite backend does the same, and a name such as `a 999 1` would otherwise write
   * a value at a timestamp of the sender's choosing.
   */
  readonly cleanNames: boolean;
  /** Encode as Graphite's pickle protocol (pickle.ts) instead of plaintext lines: the same names and values. */
  readonly pickle: boolean;
}

/**
 * A key name as it may appear in a plaintext path: returned as is when it holds only
 * `[A-Za-z0-9_.-]` (the usual case: one pass over its chars, no new string), else cleaned as the
 * original's graphite backend cleans it (whitespace runs → `_`, `/` → `-`, anything else outside the
 * set removed; `;` and `=` too, since tallyd's tags never live in the name).
 */
export function graphiteName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d)) {
      return sanitizeKey(name);
    }
  }
  return name;
}

/** Joins the non-empty parts with '.'; '' when all are empty. */
function ns(...parts: string[]): string {
  // configured parts are cleaned like key names: no prefix can put a space or a newline on the wire
  return parts.map(graphiteName).filter((p) => p !== '').join('.');
}
/** As ns(), plus a trailing '.' when not empty: a prefix to put before a key. */
function prefix(...parts: string[]): string {
  const s = ns(...parts);
  return s === '' ? '' : s + '.';
}

/** The settings that shape Graphite names: the graphite section's prefixes plus three top-level keys. */
export type GraphiteNamespaceConfig = Pick<
  GraphiteConfig,
  'legacyNamespace' | 'globalPrefix' | 'prefixCounter' | 'prefixTimer' | 'prefixGauge' | 'prefixSet' | 'globalSuffix' | 'protocol'
> &
  Pick<TallydConfig, 'prefixStats' | 'flushCounts' | 'calculatedTimerMetrics'> &
  Partial<Pick<TallydConfig, 'keyNameSanitize'>>;

export function namespaceConfigFrom(config: TallydConfig): GraphiteNamespaceConfig {
  const g = config.graphite;
  return {
    legacyNamespace: g.legacyNamespace,
    globalPrefix: g.globalPrefix,
    prefixCounter: g.prefixCounter,
    prefixTimer: g.prefixTimer,
    prefixGauge: g.prefixGauge,
    prefixSet: g.prefixSet,
    globalSuffix: g.globalSuffix,
    protocol: g.protocol,
    prefixStats: config.prefixStats,
    flushCounts: config.flushCounts,
    calculatedTimerMetrics: config.calculatedTimerMetrics,
    keyNameSanitize: config.keyNameSanitize,
  };
}

/** Computes every namespace once (at start-up). */
export function graphiteFormatOptions(c: GraphiteNamespaceConfig): GraphiteFormatOptions {
  const cleanSuffix = graphiteName(c.globalSuffix);
  const suffix = cleanSuffix === '' ? '' : '.' + cleanSuffix;
  // the daemon's own keys carry prefixStats as configured: an unclean one is cleaned on the way out too
  const cleanNames = c.keyNameSanitize === false || graphiteName(c.prefixStats) !== c.prefixStats;
  const timerFields = timerFieldFilter(c.calculatedTimerMetrics);
  if (c.legacyNamespace) {
    // The original's legacy namespace is fixed: 'stats', 'stats_counts', 'stats.timers', ...
    return {
      legacy: true,
      counterRatePrefix: 'stats.',
      counterRateField: '',
      counterCountPrefix: 'stats_counts.',
      counterCountField: '',
      timerPrefix: 'stats.timers.',
      gaugePrefix: 'stats.gauges.',
      setPrefix: 'stats.sets.',
      numStatsPath: ns(c.prefixStats, 'numStats'),
      internalPrefix: prefix('stats', c.prefixStats),
      graphiteStatsPrefix: prefix('stats', c.prefixStats, 'graphiteStats'),
      suffix,
      flushCounts: c.flushCounts,
      timerFields,
      cleanNames,
      pickle: c.protocol === 'pickle',
    };
  }
  const counter = prefix(c.globalPrefix, c.prefixCounter);
  return {
    legacy: false,
    counterRatePrefix: counter,
    counterRateField: '.rate',
    counterCountPrefix: counter,
    counterCountField: '.count',
    timerPrefix: prefix(c.globalPrefix, c.prefixTimer),
    gaugePrefix: prefix(c.globalPrefix, c.prefixGauge),
    setPrefix: prefix(c.globalPrefix, c.prefixSet),
    numStatsPath: ns(c.globalPrefix, c.prefixStats, 'numStats'),
    internalPrefix: prefix(c.globalPrefix, c.prefixStats),
    graphiteStatsPrefix: prefix(c.globalPrefix, c.prefixStats, 'graphiteStats'),
    suffix,
    flushCounts: c.flushCounts,
    timerFields,
    cleanNames,
    pickle: c.protocol === 'pickle',
  };
}

/** The backend's own figures of the previous delivery, sent with every flush (as the original). */
export interface GraphiteExtra {
  readonly lastException: number;
  readonly lastFlush: number;
  readonly flushTime: number;
  readonly flushLength: number;
  /** tallyd's own: flushes/lines the delivery queue dropped since start (sent when given). */
  readonly droppedFlushes?: number;
  readonly droppedLines?: number;
  /** ms clock for graphiteStats.calculationtime (injectable for tests; default Date.now). */
  readonly now?: () => number;
}

/** What a finished formatter reports (its bytes went to the OutgoingFlush). */
export interface GraphiteFormatResult {
  readonly lines: number;
  readonly numStats: number;
  /** The snapshot's timestamp (unix s) that every line carries. */
  readonly timestamp: number;
}

/**
 * Lines are concatenated into a short string, written into the current chunk every CHUNK_CHARS:
 * about 2x faster than converting 1 Mi-char strings with Buffer.from (flattening long ropes is costly;
 * row 3 of `node dist/bench/flush-format.bench.js`).
 */
const CHUNK_CHARS = 1 << 15;

/** Where the formatter's lines go: plaintext chunks ({@link ChunkOut}) or pickle messages (pickle.ts). */
interface LineOut {
  /** Whole lines. */
  write(s: string): void;
  /** The flush is complete; `lines` in all. */
  end(lines: number): void;
}

/** Writes strings (whole lines) into pooled chunks and appends each filled chunk to the outgoing flush. */
class ChunkOut implements LineOut {
  private buf: Buffer;
  private off = 0;
  constructor(
    private readonly pool: ChunkPool,
    private readonly out: OutgoingFlush,
  ) {
    this.buf = pool.take();
  }
  write(s: string): void {
    const need = s.length * 3; // worst case of UTF-8 per UTF-16 unit
    if (this.off + need > this.buf.length) {
      this.emit();
      this.buf = this.pool.take(need);
    }
    this.off += this.buf.write(s, this.off, 'utf8');
  }
  /** Appends what the current chunk holds (a line-aligned view) and starts a new chunk on the next write. */
  private emit(): void {
    if (this.off > 0) this.out.append(this.buf.subarray(0, this.off));
    else this.pool.give(this.buf);
    this.off = 0;
  }
  /** The last chunk. */
  end(lines: number): void {
    this.emit();
    this.buf = EMPTY;
    this.out.end(lines);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The formatter's phases, in the original's order of lines. Each item phase ends when its list is
 * done; {@link Phase.Trailer} writes the daemon's own figures at once.
 */
const Phase = {
  Counters: 0,
  Timers: 1,
  Gauges: 2,
  Sets: 3,
  /** numStats, calculationtime, processing_time, graphiteStats.*: written when the items are done. */
  Trailer: 4,
  Done: 5,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** Items between two clock reads while formatting in slices (a counter is 1, a timer 8). */
const SLICE_CHECK_UNITS = 256;
const TIMER_UNITS = 8;

/**
 * Formats one flush, resumably: {@link step} writes about `budgetMs` worth of lines and returns true
 * once the payload is complete. Lines come in the original's order: counters, timers, gauges, sets,
 * numStats, calculationtime, processing_time, graphiteStats.{last_exception,last_flush,flush_time,flush_length}.
 * calculationtime is the time spent formatting (the sum of the slices, by `extra.now`).
 *
 * Each item phase has its own method that runs from item {@link i} until its list is done (true) or
 * the slice's deadline passes (false). Lines build up in {@link s}, handed to the output whenever it
 * passes CHUNK_CHARS (at the start of an item), so the bytes and their chunks do not depend on slicing.
 */
export class GraphiteFormatter {
  private phase: Phase = Phase.Counters;
  /** The next item of the current phase. */
  private i = 0;
  /** Lines not yet handed to {@link out}. */
  private s = '';
  private lines = 0;
  /** Work since the slice's last clock read (see SLICE_CHECK_UNITS). */
  private units = 0;
  /** performance.now() at which the current slice ends. */
  private deadline = 0;
  private calcMs = 0;
  private readonly out: LineOut;
  private readonly tsNl: string;
  private result: GraphiteFormatResult | null = null;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly o: GraphiteFormatOptions,
    private readonly extra: GraphiteExtra,
    /** Where the chunks go (the delivery queue may be sending its first chunks while later ones are formatted). */
    readonly outgoing: OutgoingFlush,
    pool: ChunkPool = new ChunkPool(0),
  ) {
    this.tsNl = ' ' + snapshot.timestamp + '\n';
    this.out = o.pickle ? new PickleChunkOut(pool, outgoing) : new ChunkOut(pool, outgoing);
  }

  /** The finished payload's figures (after step() returned true). */
  get payload(): GraphiteFormatResult {
    if (this.result === null) throw new Error('GraphiteFormatter: payload read before formatting finished');
    return this.result;
  }

  /** Formats for about `budgetMs` (Infinity: to the end); true when the payload is complete. */
  step(budgetMs: number): boolean {
    if (this.result !== null) return true;
    const now = this.extra.now ?? Date.now;
    const start = now();
    this.deadline = budgetMs === Infinity ? Infinity : performance.now() + budgetMs;
    this.units = 0;
    while (this.phase !== Phase.Trailer && this.runPhase()) {
      this.phase++;
      this.i = 0;
    }
    this.calcMs += now() - start;
    if (this.phase !== Phase.Trailer) return false;
    this.writeTrailer();
    return true;
  }

  /** Runs the current item phase: true when it is done, false when the slice's time is up. */
  private runPhase(): boolean {
    switch (this.phase) {
      case Phase.Counters:
        return this.counterLines();
      case Phase.Timers:
        return this.timerLines();
      case Phase.Gauges:
        return this.gaugeLines();
      case Phase.Sets:
        return this.setLines();
      default:
        return true;
    }
  }

  /** Before each item: true when the slice's time is up (the clock is read every SLICE_CHECK_UNITS units). */
  private timeUp(): boolean {
    if (this.units < SLICE_CHECK_UNITS) return false;
    this.units = 0;
    return performance.now() >= this.deadline;
  }

  /** `s`, or '' after handing it to the output when it passed CHUNK_CHARS. */
  private drain(s: string): string {
    if (s.length <= CHUNK_CHARS) return s;
    this.out.write(s);
    return '';
  }

  /** `stats.KEY` (rate) and, with flushCounts, `stats_counts.KEY` (count) per counter. */
  private counterLines(): boolean {
    const o = this.o;
    const tsNl = this.tsNl;
    const sfx = o.suffix;
    const counters = this.snapshot.counters;
    const keys = counters.keys;
    const counts = counters.counts;
    const intervalS = counters.intervalS;
    const rateFieldSp = o.counterRateField + ' ';
    const countFieldSp = o.counterCountField + ' ';
    let s = this.s;
    let lines = this.lines;
    let i = this.i;
    let done = false;
    for (;;) {
      if (this.timeUp()) break;
      s = this.drain(s);
      if (i >= counters.length) {
        done = true;
        break;
      }
      const key = keys[i]!;
      const name = o.cleanNames ? graphiteName(key.name) : key.name;
      const count = counts[i]!;
      // (no suffix and no tags, the usual case: the field and the space as one constant string, one
      // concatenation less per line)
      const tags = key.graphiteTags;
      const plain = tags === '' && sfx === '';
      const tail = plain ? ' ' : sfx + tags + ' ';
      const rate = count / intervalS; // (a saturated count over an interval < 1 s: still finite, aggregator/finite.ts)
      s += o.counterRatePrefix + name + (plain ? rateFieldSp : o.counterRateField + tail) + (rate - rate === 0 ? rate : saturate(rate)) + tsNl;
      lines++;
      if (o.flushCounts) {
        s += o.counterCountPrefix + name + (plain ? countFieldSp : o.counterCountField + tail) + count + tsNl;
        lines++;
      }
      i++;
      this.units++;
    }
    this.s = s;
    this.lines = lines;
    this.i = i;
    return done;
  }

  /** Each timer's kept fields (see {@link appendTimer}). */
  private timerLines(): boolean {
    const timers = this.snapshot.timers;
    for (;;) {
      if (this.timeUp()) return false;
      this.s = this.drain(this.s);
      if (this.i >= timers.length) return true;
      this.appendTimer(timers[this.i]!);
      this.i++;
      this.units += TIMER_UNITS;
    }
  }

  /** One timer's lines: count and count_ps alone for an idle timer (as the original), else every kept field. */
  private appendTimer(t: TimerStat): void {
    const o = this.o;
    const f = o.timerFields;
    const tsNl = this.tsNl;
    const sfx = o.suffix;
    const base = o.timerPrefix + (o.cleanNames ? graphiteName(t.key.name) : t.key.name) + '.';
    const plain = t.key.graphiteTags === '' && sfx === '';
    const tail = plain ? ' ' : sfx + t.key.graphiteTags + ' ';
    let s = this.s;
    let lines = this.lines;
    if (t.n === 0) {
      // An idle timer: the original sends only count 0 and count_ps 0.
      if (f.count) {
        s += base + (plain ? 'count ' : 'count' + tail) + 0 + tsNl;
        lines++;
      }
      if (f.countPs) {
        s += base + (plain ? 'count_ps ' : 'count_ps' + tail) + 0 + tsNl;
        lines++;
      }
      this.s = s;
      this.lines = lines;
      return;
    }
    const pcts = t.percentiles;
    for (let j = 0; j < pcts.length; j++) {
      const p = pcts[j]!;
      const sx = p.suffix;
      if (f.countPct) {
        s += base + 'count_' + sx + tail + p.count + tsNl;
        lines++;
      }
      if (f.meanPct) {
        s += base + 'mean_' + sx + tail + p.mean + tsNl;
        lines++;
      }
      if (p.threshold > 0 ? f.upperPct : f.lowerPct) {
        s += base + (p.threshold > 0 ? 'upper_' : 'lower_') + sx + tail + p.bound + tsNl;
        lines++;
      }
      if (f.sumPct) {
        s += base + 'sum_' + sx + tail + p.sum + tsNl;
        lines++;
      }
      if (f.sumSquaresPct) {
        s += base + 'sum_squares_' + sx + tail + p.sumSquares + tsNl;
        lines++;
      }
    }
    if (f.std) {
      s += base + (plain ? 'std ' : 'std' + tail) + t.std + tsNl;
      lines++;
    }
    if (f.upper) {
      s += base + (plain ? 'upper ' : 'upper' + tail) + t.upper + tsNl;
      lines++;
    }
    if (f.lower) {
      s += base + (plain ? 'lower ' : 'lower' + tail) + t.lower + tsNl;
      lines++;
    }
    if (f.count) {
      s += base + (plain ? 'count ' : 'count' + tail) + t.count + tsNl;
      lines++;
    }
    if (f.countPs) {
      s += base + (plain ? 'count_ps ' : 'count_ps' + tail) + t.countPs + tsNl;
      lines++;
    }
    if (f.sum) {
      s += base + (plain ? 'sum ' : 'sum' + tail) + t.sum + tsNl;
      lines++;
    }
    if (f.sumSquares) {
      s += base + (plain ? 'sum_squares ' : 'sum_squares' + tail) + t.sumSquares + tsNl;
      lines++;
    }
    if (f.mean) {
      s += base + (plain ? 'mean ' : 'mean' + tail) + t.mean + tsNl;
      lines++;
    }
    if (f.median) {
      s += base + (plain ? 'median ' : 'median' + tail) + t.median + tsNl;
      lines++;
    }
    const h = t.histogram;
    if (h !== null && f.histogram) {
      const hb = base + 'histogram.';
      for (let j = 0; j < h.names.length; j++) {
        s += hb + h.names[j] + tail + h.counts[j] + tsNl;
        lines++;
      }
    }
    this.s = s;
    this.lines = lines;
  }

  /** `stats.gauges.KEY` per gauge (counted as lines when the phase is done). */
  private gaugeLines(): boolean {
    const o = this.o;
    const tsNl = this.tsNl;
    const sfx = o.suffix;
    const gauges = this.snapshot.gauges;
    let s = this.s;
    let i = this.i;
    let done = false;
    for (;;) {
      if (this.timeUp()) break;
      s = this.drain(s);
      if (i >= gauges.length) {
        this.lines += gauges.length;
        done = true;
        break;
      }
      const g = gauges[i]!;
      s += o.gaugePrefix + (o.cleanNames ? graphiteName(g.key.name) : g.key.name) + sfx + g.key.graphiteTags + ' ' + g.value + tsNl;
      i++;
      this.units++;
    }
    this.s = s;
    this.i = i;
    return done;
  }

  /** `stats.sets.KEY.count` per set (counted as lines when the phase is done). */
  private setLines(): boolean {
    const o = this.o;
    const tsNl = this.tsNl;
    const sfx = o.suffix;
    const sets = this.snapshot.sets;
    let s = this.s;
    let i = this.i;
    let done = false;
    for (;;) {
      if (this.timeUp()) break;
      s = this.drain(s);
      if (i >= sets.length) {
        this.lines += sets.length;
        done = true;
        break;
      }
      const st = sets[i]!;
      s += o.setPrefix + (o.cleanNames ? graphiteName(st.key.name) : st.key.name) + '.count' + sfx + st.key.graphiteTags + ' ' + st.count + tsNl;
      i++;
      this.units++;
    }
    this.s = s;
    this.i = i;
    return done;
  }

  /** numStats, the daemon's own figures and the previous delivery's; then the payload is complete. */
  private writeTrailer(): void {
    const o = this.o;
    const tsNl = this.tsNl;
    const sfx = o.suffix;
    const snapshot = this.snapshot;
    const extra = this.extra;
    const numStats = snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length;
    let s = this.s;
    let lines = this.lines;
    s += o.numStatsPath + sfx + ' ' + numStats + tsNl;
    s += o.internalPrefix + 'graphiteStats.calculationtime' + sfx + ' ' + Math.round(this.calcMs) + tsNl;
    s += o.internalPrefix + 'processing_time' + sfx + ' ' + Math.round(snapshot.internal.processingTimeMs) + tsNl;
    s += o.graphiteStatsPrefix + 'last_exception' + sfx + ' ' + extra.lastException + tsNl;
    s += o.graphiteStatsPrefix + 'last_flush' + sfx + ' ' + extra.lastFlush + tsNl;
    s += o.graphiteStatsPrefix + 'flush_time' + sfx + ' ' + extra.flushTime + tsNl;
    s += o.graphiteStatsPrefix + 'flush_length' + sfx + ' ' + extra.flushLength + tsNl;
    lines += 7;
    if (extra.droppedFlushes !== undefined) {
      s += o.graphiteStatsPrefix + 'dropped_flushes' + sfx + ' ' + extra.droppedFlushes + tsNl;
      lines++;
    }
    if (extra.droppedLines !== undefined) {
      s += o.graphiteStatsPrefix + 'dropped_lines' + sfx + ' ' + extra.droppedLines + tsNl;
      lines++;
    }
    this.out.write(s);
    this.out.end(lines);
    this.s = '';
    this.lines = lines;
    this.phase = Phase.Done;
    this.result = { lines, numStats, timestamp: snapshot.timestamp };
  }
}

/** One whole flush's bytes and figures (formatted at once: tests, benches). */
export interface GraphitePayload extends GraphiteFormatResult {
  readonly bytes: Buffer;
}

/** Formats one flush at once into one buffer (see {@link GraphiteFormatter}). */
export function formatGraphite(snapshot: Snapshot, o: GraphiteFormatOptions, extra: GraphiteExtra): GraphitePayload {
  const out = new OutgoingFlush({ timestamp: snapshot.timestamp });
  const f = new GraphiteFormatter(snapshot, o, extra, out);
  f.step(Infinity);
  return { ...f.payload, bytes: out.peekUnsent() };
}

/**
 * Formats into `out` in slices of about `sliceMs` that yield to the event loop in between (a flush of a
 * million keys never holds ingest for long), and wait for the sender while `out` is full.
 */
export async function formatGraphiteInto(
  out: OutgoingFlush,
  snapshot: Snapshot,
  o: GraphiteFormatOptions,
  extra: GraphiteExtra,
  pool?: ChunkPool,
  sliceMs = 5,
  yieldFn: YieldToIngest = nextTurn,
): Promise<GraphiteFormatResult> {
  const f = new GraphiteFormatter(snapshot, o, extra, out, pool);
  while (!f.step(sliceMs)) {
    await yieldFn();
    if (out.full) await out.room();
  }
  return f.payload;
}

/** The same bytes as {@link formatGraphite}, formatted in slices (tests). */
export async function formatGraphiteAsync(snapshot: Snapshot, o: GraphiteFormatOptions, extra: GraphiteExtra, sliceMs = 5): Promise<GraphitePayload> {
  const out = new OutgoingFlush({ timestamp: snapshot.timestamp });
  const r = await formatGraphiteInto(out, snapshot, o, extra, undefined, sliceMs);
  return { ...r, bytes: out.peekUnsent() };
}
