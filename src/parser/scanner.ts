/**
 * The StatsD line scanner (hot path): bytes in, offsets out.
 *
 * Grammar of one line (after dropping a trailing `\r`):
 *
 *   key ':' part (':' part)*
 *   part  = value '|' type ('|' field)*
 *   field = '@' rate | '#' tags | 'T' timestamp | name ':' value (c: container id, e:, card:, any other)
 *
 * Every part is validated and delivered on its own, so `a:1|c:x|c:2|c` delivers two samples
 * and one bad part. A `#tags` field (tags contain `:`) and a `name:value` field run to the next `|`
 * (DogStatsD v1.2+ puts fields after the tags). The tags' hash is computed in the same pass (line.ts).
 *
 * No strings, regexes, closures or try/catch per line: one reusable {@link Sample} is filled with
 * byte offsets and handed to the sink, which decodes what it keeps (once per distinct key).
 *
 * This file holds the fast path (the common `key:digits|c`, `|ms`, `|g` line, key hash included);
 * line.ts the general path, keyhash.ts the key hash.
 */

import { FNV_LANE_MIX, FNV_OFFSET, FNV_OFFSET_2, FNV_PRIME } from './keyhash.js';
import { parseLine } from './line.js';
import { MAX_FAST_DIGITS, POW10 } from './numbers.js';
import { MetricType, type Sample, type SampleSink } from './types.js';

export { FNV_LANE_MIX, FNV_OFFSET, FNV_OFFSET_2, FNV_PRIME, hashKeyBytes, hashRawKey, hashTagBytes } from './keyhash.js';

/**
 * Byte values, as consts of this module: imported from a shared module, they made parse-only lines
 * 17-29 % slower (`ROUNDS=20 node bench/ab/parser-ab.mjs <base dist> $PWD/dist`), so line.ts keeps its own.
 */
const CH_c = 0x63;
const CH_g = 0x67;
const CH_m = 0x6d;
const CH_s = 0x73;
const COLON = 0x3a;
const CR = 0x0d;
const DOT = 0x2e;
const LF = 0x0a;
const PIPE = 0x7c;
const UNDERSCORE = 0x5f;

/**
 * Scan `buf[start, end)` (one datagram, or a run of complete TCP lines) and deliver every part
 * of every line to `sink`. Returns the number of non-empty lines (the original's metrics_received).
 *
 * For a valid part, `s` is filled completely (every field) and `sink.sample(s)` is called:
 * - `keyStart/keyEnd`: the raw key; `tagStart/tagEnd`: DogStatsD tags after `|#` (equal when none);
 * - `value`: the number (0 for sets); `sampleRate`: from `@rate`, else 1;
 * - `gaugeDelta`: a gauge value starting with `+` or `-`;
 * - `memberStart/memberEnd`: the raw value bytes (for every type). For a set, an empty member
 *   (memberStart === memberEnd) must be treated as the member `0`, as the original does.
 * A refused part calls `sink.badLine(reason, buf, lineStart, lineEnd)` instead. Never throws
 * (unless the sink does).
 */
export function parsePacket(buf: Buffer, start: number, end: number, sink: SampleSink, s: Sample): number {
  if (start < 0) start = 0;
  if (end > buf.length) end = buf.length;
  let lines = 0;
  let ls = start;
  while (ls < end) {
    // Straight path for the common line `key:digits[.digits]|c`, `|ms` or `|g` (ending at LF or at
    // `end`): one pass over its bytes, no call per line but the sink's. Anything else (fields,
    // signs, exponents, CR, bad lines, sets, over 15 digits) goes to parseLine, which decides as
    // before. Measured (node 20, 25-line packets, key hash included: the `parsePacket + key hash` row
    // of `node dist/bench/parser.bench.js`): 40 → 25 ns/line, much of it the per-line Buffer#indexOf call it replaces.
    let p = ls;
    let c = 0;
    // the key's hash in the same pass (Sample.keyHash = hashKeyBytes: even and odd bytes in two lanes)
    let ha = FNV_OFFSET | 0;
    let hb = FNV_OFFSET_2 | 0;
    for (;;) {
      if (p >= end) break;
      c = buf[p]!;
      if (c === COLON || c === LF) break;
      ha = Math.imul(ha ^ c, FNV_PRIME);
      p++;
      if (p >= end) break;
      c = buf[p]!;
      if (c === COLON || c === LF) break;
      hb = Math.imul(hb ^ c, FNV_PRIME);
      p++;
    }
    if (c === COLON && p > ls && p < end) {
      const keyEnd = p;
      const vStart = ++p;
      let m = 0;
      while (p < end) {
        c = buf[p]! - 0x30;
        if (c < 0 || c > 9) break;
        m = m * 10 + c;
        p++;
      }
      let digits = p - vStart;
      let frac = 0;
      if (digits > 0 && p < end && buf[p] === DOT) {
        const fStart = ++p;
        while (p < end) {
          c = buf[p]! - 0x30;
          if (c < 0 || c > 9) break;
          m = m * 10 + c;
          p++;
        }
        frac = p - fStart;
        digits += frac;
      }
      const vEnd = p;
      // `digits[.digits]` with at most 15 digits: m is exact and m / 10^frac is parseNumber's fast
      // path (so the same double); then `|` and a 1-2 byte type
      if (digits > 0 && digits <= MAX_FAST_DIGITS && p + 1 < end && buf[p] === PIPE) {
        c = buf[p + 1]!;
        let type = -1;
        let le = p + 2;
        if (c === CH_c) type = MetricType.Counter;
        else if (c === CH_g) type = MetricType.Gauge;
        else if (c === CH_m && le < end && buf[le] === CH_s) {
          type = MetricType.Timer;
          le++;
        }
        // (a line starting with `_` takes the general path: it may be a DogStatsD event `_e{2,1}:12|c`
        // or service check `_sc|n|0|m:5|c` that looks like a metric line)
        if (type >= 0 && (le === end || buf[le] === LF) && buf[ls] !== UNDERSCORE) {
          lines++;
          s.type = type as MetricType;
          s.buf = buf;
          s.keyStart = ls;
          s.keyEnd = keyEnd;
          s.tagStart = 0;
          s.tagEnd = 0;
          s.value = frac === 0 ? m : m / POW10[frac]!;
          s.sampleRate = 1;
          s.gaugeDelta = false;
          s.memberStart = vStart;
          s.memberEnd = vEnd;
          s.keyHash = ha ^ Math.imul(hb, FNV_LANE_MIX);
          s.keyHashed = true;
          sink.sample(s);
          ls = le + 1;
          continue;
        }
      }
    }
    // General path: the line's end, then parseLine.
    let nl = p;
    while (nl < end && buf[nl] !== LF) nl++;
    let le = nl;
    if (le > ls && buf[le - 1] === CR) le--;
    if (le > ls) {
      lines++;
      parseLine(buf, ls, le, sink, s);
    }
    ls = nl + 1;
  }
  return lines;
}
