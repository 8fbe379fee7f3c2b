/**
 * One timer's Graphite lines (the formatter's timer phase, format.ts): the kept fields in the original's
 * order, `count` and `count_ps` alone for an idle timer.
 */
import type { TimerStat } from '../../aggregator/snapshot.js';
import type { LineText } from './line-out.js';
import { type GraphiteFormatOptions, graphiteName } from './names.js';

/** Appends one timer's lines to `acc`: count and count_ps alone for an idle timer (as the original), else every kept field. */
export function appendTimerLines(acc: LineText, t: TimerStat, o: GraphiteFormatOptions, tsNl: string): void {
  const f = o.timerFields;
  const sfx = o.suffix;
  const base = o.timerPrefix + (o.cleanNames ? graphiteName(t.key.name) : t.key.name) + '.';
  const plain = t.key.graphiteTags === '' && sfx === '';
  const tail = plain ? ' ' : sfx + t.key.graphiteTags + ' ';
  let s = acc.s;
  let lines = acc.lines;
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
    acc.s = s;
    acc.lines = lines;
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
  acc.s = s;
  acc.lines = lines;
}
