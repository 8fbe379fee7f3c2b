/**
 * Graphite plaintext formatting: a snapshot to the bytes of one flush, written in line-aligned chunks (see outgoing.ts).
 *
 * The formatter is a resumable state machine over named phases (counters, timers, gauges, sets, the
 * registered other types, trailer). Its parts live beside it, one job each:
 *  - names.ts: the namespaces and prefixes computed once from the config, and the cleaning of key names;
 *  - timer-lines.ts: one timer's lines; trailer.ts: numStats and the daemon's own figures at the end;
 *  - other-types.ts: the lines of metric types beyond the core four, as their modules register them;
 *  - line-out.ts: where the lines go (plaintext chunks; pickle.ts encodes the same lines as pickle).
 * This module re-exports what callers used to import from it.
 */
import { saturate } from '../../aggregator/finite.js';
import type { Snapshot } from '../../aggregator/snapshot.js';
import { nextTurn, type YieldToIngest } from '../../pipeline/scheduler.js';
import { CHUNK_CHARS, ChunkOut, type LineOut, type LineText } from './line-out.js';
import { type GraphiteFormatOptions, graphiteName } from './names.js';
import { GRAPHITE_TYPES, GraphiteTypeLines } from './other-types.js';
import { ChunkPool, OutgoingFlush } from './outgoing.js';
import { PickleChunkOut } from './pickle.js';
import { appendTimerLines } from './timer-lines.js';
import { appendTrailer, type GraphiteExtra } from './trailer.js';

export {
  type GraphiteFormatOptions,
  type GraphiteNamespaceConfig,
  graphiteFormatOptions,
  graphiteName,
  namespaceConfigFrom,
} from './names.js';
export type { GraphiteExtra } from './trailer.js';

/** What a finished formatter reports (its bytes went to the OutgoingFlush). */
export interface GraphiteFormatResult {
  readonly lines: number;
  readonly numStats: number;
  /** The snapshot's timestamp (unix s) that every line carries. */
  readonly timestamp: number;
}

/**
 * The formatter's phases, in the original's order of lines. Each item phase ends when its list is
 * done; {@link Phase.Trailer} writes the daemon's own figures at once.
 */
const Phase = {
  Counters: 0,
  Timers: 1,
  Gauges: 2,
  Sets: 3,
  /** The stats of the types registered in other-types.ts, type by type (none: done at once). */
  Others: 4,
  /** numStats, calculationtime, processing_time, graphiteStats.*: written when the items are done. */
  Trailer: 5,
  Done: 6,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** Items between two clock reads while formatting in slices (a counter is 1, a timer 8). */
const SLICE_CHECK_UNITS = 256;
const TIMER_UNITS = 8;

/**
 * Formats one flush, resumably: {@link step} writes about `budgetMs` worth of lines and returns true
 * once the payload is complete. Lines come in the original's order: counters, timers, gauges, sets,
 * (tallyd's registered other types,) numStats, calculationtime, processing_time, graphiteStats.{last_exception,last_flush,flush_time,flush_length}.
 * calculationtime is the time spent formatting (the sum of the slices, by `extra.now`).
 *
 * Each item phase has its own method that runs from item {@link i} until its list is done (true) or
 * the slice's deadline passes (false). Lines build up in {@link s}, handed to the output whenever it
 * passes CHUNK_CHARS (at the start of an item), so the bytes and their chunks do not depend on slicing.
 */
export class GraphiteFormatter implements LineText {
  private phase: Phase = Phase.Counters;
  /** The next item of the current phase. */
  private i = 0;
  /** Lines not yet handed to {@link out} (the LineText that timer-lines.ts and trailer.ts append to). */
  s = '';
  lines = 0;
  /** Work since the slice's last clock read (see SLICE_CHECK_UNITS). */
  private units = 0;
  /** performance.now() at which the current slice ends. */
  private deadline = 0;
  private calcMs = 0;
  private readonly out: LineOut;
  private readonly tsNl: string;
  private result: GraphiteFormatResult | null = null;
  /** In {@link Phase.Others}: the type being written (index in GRAPHITE_TYPES) and where its lines go. */
  private typeIdx = 0;
  private typeOut: GraphiteTypeLines | null = null;
  /** Stats of the other types written (they count in numStats). */
  private otherStats = 0;

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
      case Phase.Others:
        return GRAPHITE_TYPES.length === 0 || this.otherLines();
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
      s +=
        o.counterRatePrefix + name + (plain ? rateFieldSp : o.counterRateField + tail) + (rate - rate === 0 ? rate : saturate(rate)) + tsNl;
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

  /** Each timer's kept fields (timer-lines.ts). */
  private timerLines(): boolean {
    const timers = this.snapshot.timers;
    for (;;) {
      if (this.timeUp()) return false;
      this.s = this.drain(this.s);
      if (this.i >= timers.length) return true;
      appendTimerLines(this, timers[this.i]!, this.o, this.tsNl);
      this.i++;
      this.units += TIMER_UNITS;
    }
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
      s +=
        o.setPrefix +
        (o.cleanNames ? graphiteName(st.key.name) : st.key.name) +
        '.count' +
        sfx +
        st.key.graphiteTags +
        ' ' +
        st.count +
        tsNl;
      i++;
      this.units++;
    }
    this.s = s;
    this.i = i;
    return done;
  }

  /** Each registered other type's stats (other-types.ts), in registration order, those of the snapshot. */
  private otherLines(): boolean {
    const others = this.snapshot.others;
    for (; this.typeIdx < GRAPHITE_TYPES.length; this.typeIdx++, this.i = 0, this.typeOut = null) {
      const t = GRAPHITE_TYPES[this.typeIdx]!;
      const stats = others?.get(t.store);
      if (stats === undefined) continue;
      const out = (this.typeOut ??= new GraphiteTypeLines(this, this.o, t.part, this.tsNl));
      for (;;) {
        if (this.timeUp()) return false;
        this.s = this.drain(this.s);
        if (this.i >= stats.length) break;
        t.write(stats[this.i]!, out);
        this.i++;
        this.otherStats++;
        this.units += t.units;
      }
    }
    return true;
  }

  /** numStats, the daemon's own figures and the previous delivery's; then the payload is complete. */
  private writeTrailer(): void {
    const numStats = appendTrailer(this, this.o, this.snapshot, this.extra, this.calcMs, this.tsNl, this.otherStats);
    const lines = this.lines;
    this.out.write(this.s);
    this.out.end(lines);
    this.s = '';
    this.phase = Phase.Done;
    this.result = { lines, numStats, timestamp: this.snapshot.timestamp };
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
export async function formatGraphiteAsync(
  snapshot: Snapshot,
  o: GraphiteFormatOptions,
  extra: GraphiteExtra,
  sliceMs = 5,
): Promise<GraphitePayload> {
  const out = new OutgoingFlush({ timestamp: snapshot.timestamp });
  const r = await formatGraphiteInto(out, snapshot, o, extra, undefined, sliceMs);
  return { ...r, bytes: out.peekUnsent() };
}
