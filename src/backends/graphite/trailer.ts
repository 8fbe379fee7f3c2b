/**
 * The end of every Graphite flush: numStats, the daemon's own figures (calculationtime, processing_time)
 * and the previous delivery's (graphiteStats.*), as the original sends them.
 */
import type { Snapshot } from '../../aggregator/snapshot.js';
import type { LineText } from './line-out.js';
import type { GraphiteFormatOptions } from './names.js';

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

/**
 * Appends numStats, the daemon's own figures and the previous delivery's to `acc`; returns numStats.
 * `calcMs`: the time spent formatting this flush (graphiteStats.calculationtime); `otherStats`: the
 * stats of registered other types written (other-types.ts), counted in numStats as the core types' keys.
 */
export function appendTrailer(
  acc: LineText,
  o: GraphiteFormatOptions,
  snapshot: Snapshot,
  extra: GraphiteExtra,
  calcMs: number,
  tsNl: string,
  otherStats = 0,
): number {
  const sfx = o.suffix;
  const numStats = snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length + otherStats;
  let s = acc.s;
  let lines = acc.lines;
  s += o.numStatsPath + sfx + ' ' + numStats + tsNl;
  s += o.internalPrefix + 'graphiteStats.calculationtime' + sfx + ' ' + Math.round(calcMs) + tsNl;
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
  acc.s = s;
  acc.lines = lines;
  return numStats;
}
