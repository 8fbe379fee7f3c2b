/**
 * The StatsD line scanner (hot path): bytes in, offsets out.
 *
 * Grammar of one line (after dropping a trailing `\r`):
 *
 *   key ':' part (':' part)*
 *   part  = value '|' type ('|' field)*
 *   field = '@' rate | '#' tags (to end of line) | 'c:' container-id | 'T' timestamp
 *
 * Every part is validated and delivered on its own, so `a:1|c:x|c:2|c` delivers two samples
 * and one bad part. A `#tags` field runs to the end of the line (tags contain `:`); a DogStatsD
 * `c:` container id runs to the next `|`.
 *
 * No strings, regexes, closures or try/catch per line: one reusable {@link Sample} is filled with
 * byte offsets and handed to the sink, which decodes what it keeps (once per distinct key).
 */
import { MAX_FAST_DIGITS, POW10, parseNumber } from './numbers.js';
import { fieldNameLength, isDigits, namedFieldKind, parseEvent, parseServiceCheck } from './dogstatsd.js';
import { BadLine, DogCount, MIN_SAMPLE_RATE, MetricType, type Sample, type SampleSink } from './types.js';

/**
 * The key hash of {@link Sample.keyHash}: FNV-1a (32-bit) in two lanes, bytes at even offsets from
 * the key's start in one, odd in the other, then combined. Two lanes halve the chain of dependent
 * multiplies in the scanner's key loop (measured parse-only: 28-byte keys 65 → 52 ns per line, the same on
 * 7-byte keys; bench/parser.bench.ts's `parsePacket` rows time the scanner: `node dist/bench/parser.bench.js`).
 */
export const FNV_OFFSET = 0x811c9dc5;
/** The second lane's start (any constant other than FNV_OFFSET). */
export const FNV_OFFSET_2 = 0x050c5d1f;
export const FNV_PRIME = 0x01000193;
/** Multiplier of the odd lane when the lanes are combined: `even ^ imul(odd, FNV_LANE_MIX)`. */
export const FNV_LANE_MIX = 0x85ebca6b;

/** The key hash of `buf[start, end)` (what the scanner leaves in {@link Sample.keyHash}), as int32. */
export function hashKeyBytes(buf: Uint8Array, start: number, end: number): number {
  let a = FNV_OFFSET | 0;
  let b = FNV_OFFSET_2 | 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    a = Math.imul(a ^ buf[i]!, FNV_PRIME);
    b = Math.imul(b ^ buf[i + 1]!, FNV_PRIME);
  }
  if (i < end) a = Math.imul(a ^ buf[i]!, FNV_PRIME);
  return a ^ Math.imul(b, FNV_LANE_MIX);
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const PIPE = 0x7c;
const AT = 0x40;
const HASH = 0x23;
const SPACE = 0x20;
const TAB = 0x09;
const PLUS = 0x2b;
const DOT = 0x2e;
const MINUS = 0x2d;
const CH_c = 0x63;
const CH_d = 0x64;
const CH_g = 0x67;
const CH_h = 0x68;
const CH_m = 0x6d;
const CH_s = 0x73;
const CH_T = 0x54;
const CH_N = 0x4e;
const CH_a = 0x61;
const CH_e = 0x65;
const UNDERSCORE = 0x5f;
const LBRACE = 0x7b;

/** Metric type code for `buf[start, end)` (already trimmed), or -1 when unknown. */
function typeOf(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len === 1) {
    const c = buf[start]!;
    if (c === CH_c) return MetricType.Counter;
    if (c === CH_g) return MetricType.Gauge;
    if (c === CH_s) return MetricType.Set;
    if (c === CH_h || c === CH_d) return MetricType.Timer;
    return -1;
  }
  if (len === 2 && buf[start] === CH_m && buf[start + 1] === CH_s) return MetricType.Timer;
  return -1;
}

/** Position of the first `|` or `:` in `buf[pos, end)`, or `end`. */
function scanField(buf: Buffer, pos: number, end: number): number {
  while (pos < end) {
    const c = buf[pos]!;
    if (c === PIPE || c === COLON) return pos;
    pos++;
  }
  return end;
}

/** Why a value that parsed to NaN/±Infinity was refused: the literal `NaN` and overflow are NotFinite. */
function nonNumberReason(buf: Buffer, start: number, end: number, v: number): BadLine {
  if (v === v) return BadLine.NotFinite; // ±Infinity
  if (end - start === 3 && buf[start] === CH_N && buf[start + 1] === CH_a && buf[start + 2] === CH_N) {
    return BadLine.NotFinite;
  }
  return BadLine.BadValue;
}

/**
 * Validate the value `buf[vStart, vEnd)` of a part of type `type` and deliver it as a sample (the other
 * fields of `s` already set), or count it as a bad part.
 */
function deliver(buf: Buffer, ls: number, le: number, type: number, vStart: number, vEnd: number, sink: SampleSink, s: Sample): void {
  s.memberStart = vStart;
  s.memberEnd = vEnd;
  s.gaugeDelta = false;
  if (type === MetricType.Set) {
    s.value = 0;
    sink.sample(s);
    return;
  }
  const v = parseNumber(buf, vStart, vEnd);
  let bad = -1;
  if (v - v !== 0) {
    // NaN or ±Infinity
    bad = nonNumberReason(buf, vStart, vEnd, v);
  } else if (type === MetricType.Timer && v < 0) {
    bad = BadLine.NegativeTimer;
  } else {
    s.value = v;
    if (type === MetricType.Gauge) {
      const first = buf[vStart];
      s.gaugeDelta = first === PLUS || first === MINUS;
    }
    sink.sample(s);
    return;
  }
  sink.badLine(bad as BadLine, buf, ls, le);
}

/**
 * Parse one line `buf[ls, le)` (non-empty, `\r` already dropped), delivering each part.
 */
function parseLine(buf: Buffer, ls: number, le: number, sink: SampleSink, s: Sample): void {
  if (buf[ls] === UNDERSCORE) {
    // DogStatsD events `_e{…}` and service checks `_sc|…` (parsed, checked and counted; see events.ts)
    if (le - ls > 2 && buf[ls + 1] === CH_e && buf[ls + 2] === LBRACE) {
      parseEvent(buf, ls, le, sink);
      return;
    }
    if (le - ls > 3 && buf[ls + 1] === CH_s && buf[ls + 2] === CH_c && buf[ls + 3] === PIPE) {
      parseServiceCheck(buf, ls, le, sink);
      return;
    }
  }
  // Key: everything before the first ':'.
  let pos = ls;
  while (pos < le && buf[pos] !== COLON) pos++;
  if (pos === le) {
    sink.badLine(BadLine.NoType, buf, ls, le);
    return;
  }
  if (pos === ls) {
    sink.badLine(BadLine.EmptyKey, buf, ls, le);
    return;
  }
  const keyEnd = pos;
  const keyHash = hashKeyBytes(buf, ls, keyEnd); // (Sample.keyHash; this path is the less common one)
  pos++; // past ':'
  /** The first '|' at or after the current part (le: none), and the type after it (-1: none), once looked for. */
  let pipeAt = -1;
  let pipeType = -1;

  // One iteration per part; `pos` is the start of the part's value. A part is `value|type[|field...]`
  // (the original's `k:1|c:2|ms`: every part has its `|type`), or DogStatsD v1.1's packed values
  // `v1:v2:...|type[|field...]`: several values before one `|type`, for every type but sets.
  for (;;) {
    const vStart = pos;
    pos = scanField(buf, pos, le);
    let vEnd = pos;
    let packed = false;
    if (pos < le && buf[pos] === COLON) {
      // no `|type` right after this value: packed values when a type other than `s` follows the run.
      // The next '|' and its type are found once for all the parts before it (a long line of `:1:1:…`
      // stays linear)
      if (pipeAt <= pos) {
        let q = pos + 1;
        while (q < le && buf[q] !== PIPE) q++;
        pipeAt = q;
        pipeType = -1;
        if (q < le) {
          let ts = q + 1;
          let te = scanField(buf, ts, le);
          while (ts < te && (buf[ts] === SPACE || buf[ts] === TAB)) ts++;
          while (te > ts && (buf[te - 1] === SPACE || buf[te - 1] === TAB)) te--;
          pipeType = ts === te ? -1 : typeOf(buf, ts, te);
        }
      }
      if (pipeAt < le && pipeType >= 0 && pipeType !== MetricType.Set) {
        packed = true;
        pos = pipeAt;
        vEnd = pipeAt;
      }
    }
    if (pos === le || buf[pos] === COLON) {
      // No `|type` in this part.
      sink.badLine(BadLine.NoType, buf, ls, le);
      if (pos === le) return;
      pos++;
      continue;
    }
    // buf[pos] is '|': the type follows.
    pos++;
    let tStart = pos;
    pos = scanField(buf, pos, le);
    let tEnd = pos;
    while (tStart < tEnd && (buf[tStart] === SPACE || buf[tStart] === TAB)) tStart++;
    while (tEnd > tStart && (buf[tEnd - 1] === SPACE || buf[tEnd - 1] === TAB)) tEnd--;
    let bad = -1;
    const type = tStart === tEnd ? -1 : typeOf(buf, tStart, tEnd);
    if (tStart === tEnd) bad = BadLine.NoType;
    else if (type < 0) bad = BadLine.UnknownType;

    // Fields, in any order, until ':' (next part) or the end of the line.
    let rate = 1;
    let tagStart = 0;
    let tagEnd = 0;
    let cidStart = -1;
    let cidEnd = -1;
    while (pos < le && buf[pos] === PIPE) {
      const fStart = pos + 1;
      const c = fStart < le ? buf[fStart]! : -1;
      if (c === HASH) {
        // tags (they contain ':') run to the next '|': four bytes per bound check, then the rest one by one
        // (tagged lines' parse: −5 % against one by one, bench/ab/parser-ab.mjs; see bench/RESULTS.md)
        tagStart = fStart + 1;
        pos = tagStart;
        while (pos + 3 < le && buf[pos] !== PIPE && buf[pos + 1] !== PIPE && buf[pos + 2] !== PIPE && buf[pos + 3] !== PIPE) pos += 4;
        while (pos < le && buf[pos] !== PIPE) pos++;
        tagEnd = pos;
        continue;
      }
      if (c === AT) {
        pos = scanField(buf, fStart, le);
        const r = parseNumber(buf, fStart + 1, pos);
        if (r >= MIN_SAMPLE_RATE && r !== Infinity) rate = r;
        else if (bad < 0) bad = r > 0 && r !== Infinity ? BadLine.LowSampleRate : BadLine.BadSampleRate;
        continue;
      }
      if (c === CH_T) {
        // v1.3 timestamp: accepted, the value is aggregated into the current interval
        pos = scanField(buf, fStart, le);
        if (isDigits(buf, fStart + 1, pos)) sink.dogCount(DogCount.Timestamp);
        else if (bad < 0) bad = BadLine.BadField;
        continue;
      }
      const nameLen = fieldNameLength(buf, fStart, le);
      if (nameLen > 0) {
        // `name:value` (container id, external data, cardinality, anything newer): runs to the next '|',
        // never part of the name or tags (the container id only when containerIdTag asks for it)
        const kind = namedFieldKind(buf, fStart, nameLen);
        pos = fStart + nameLen + 1;
        while (pos < le && buf[pos] !== PIPE) pos++;
        if (kind === DogCount.ContainerId) {
          cidStart = fStart - 1;
          cidEnd = pos;
        }
        sink.dogCount(kind);
        continue;
      }
      pos = scanField(buf, fStart, le);
      if (bad < 0) bad = BadLine.BadField; // includes an empty field (`a:1|c|`)
    }

    if (bad < 0) {
      if (cidEnd > cidStart && s.containerIdTag) {
        // the tag bytes span the `#tags` and `|c:` fields (canonicalKey reads them apart)
        if (tagEnd > tagStart) {
          if (cidStart < tagStart) tagStart = cidStart;
          if (cidEnd > tagEnd) tagEnd = cidEnd;
        } else {
          tagStart = cidStart;
          tagEnd = cidEnd;
        }
      }
      s.type = type as MetricType;
      s.buf = buf;
      s.keyStart = ls;
      s.keyEnd = keyEnd;
      s.tagStart = tagStart;
      s.tagEnd = tagEnd;
      s.sampleRate = rate;
      s.keyHash = keyHash;
      s.keyHashed = true;
      if (!packed) {
        deliver(buf, ls, le, type, vStart, vEnd, sink, s);
      } else {
        // v1.1 packed values: each one a sample of its own, with the same type and fields
        let a = vStart;
        for (;;) {
          let b = a;
          while (b < vEnd && buf[b] !== COLON) b++;
          deliver(buf, ls, le, type, a, b, sink, s);
          if (b >= vEnd) break;
          a = b + 1;
        }
      }
    } else {
      sink.badLine(bad as BadLine, buf, ls, le);
    }

    if (pos >= le) return;
    pos++; // past ':' — the next part
  }
}

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
