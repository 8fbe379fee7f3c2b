/**
 * The general path of the StatsD line scanner (scanner.ts): any line the fast path does not take
 * (fields, signs, exponents, CR, sets, DogStatsD events, bad lines) is parsed part by part here, with
 * the same rules: no strings, regexes, closures or try/catch per line.
 */

import { fieldNameLength, isDigits, namedFieldKind, parseEvent, parseServiceCheck } from './dogstatsd.js';
import { hashKeyBytes, hashTagBytes } from './keyhash.js';
import { parseNumber } from './numbers.js';
import { BadLine, DogCount, MetricType, MIN_SAMPLE_RATE, type Sample, type SampleSink } from './types.js';
import { TYPE_BY_1, TYPE_BY_2, typeOfSuffix } from './typetable.js';

/** Byte values, as consts of this module (see scanner.ts: imported ones cost speed). */
const AT = 0x40;
const CH_N = 0x4e;
const CH_T = 0x54;
const CH_a = 0x61;
const CH_c = 0x63;
const CH_e = 0x65;
const CH_s = 0x73;
const COLON = 0x3a;
const HASH = 0x23;
const LBRACE = 0x7b;
const MINUS = 0x2d;
const PIPE = 0x7c;
const PLUS = 0x2b;
const SPACE = 0x20;
const TAB = 0x09;
const UNDERSCORE = 0x5f;
/** The tag scan's word constants: '|' in every byte, SWAR's zero-byte test, murmur3's (keyhash.ts). */
const PIPES = 0x7c7c7c7c;
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
const M_C1 = 0xcc9e2d51 | 0;
const M_C2 = 0x1b873593;
const M_N = 0xe6546b64 | 0;

/** The type table (./typetable.ts), held in this module's consts (imported bindings cost speed, see scanner.ts). */
const TYPE_1 = TYPE_BY_1;
const TYPE_2 = TYPE_BY_2;

/** Metric type code for `buf[start, end)` (already trimmed), or -1 when unknown: the type table's. */
function typeOf(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len === 1) return TYPE_1[buf[start]!]!;
  if (len === 2) return TYPE_2[(buf[start]! << 8) | buf[start + 1]!]!;
  return typeOfSuffix(buf, start, end);
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
export function parseLine(buf: Buffer, ls: number, le: number, sink: SampleSink, s: Sample): void {
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
    let tagHash = 0;
    let cidStart = -1;
    let cidEnd = -1;
    while (pos < le && buf[pos] === PIPE) {
      const fStart = pos + 1;
      const c = fStart < le ? buf[fStart]! : -1;
      if (c === HASH) {
        // tags (they contain ':') run to the next '|' (a DogStatsD field may follow). Their hash (hashTagBytes, in
        // Sample.keyHash for the key table) in the same pass: a four-byte word at a time, each word tested for a
        // '|' byte at once (SWAR), the last < 4 bytes one by one. One pass where there were two (the scan for the
        // '|', then the key table's hash of the tags): see bench/RESULTS.md, "the DogStatsD tag scan"
        tagStart = fStart + 1;
        pos = tagStart;
        let h = 0;
        while (pos + 3 < le) {
          const w = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24);
          const x = w ^ PIPES;
          if (((x - ONES) & ~x & HIGHS) !== 0) break; // a byte of w is '|'
          let k = Math.imul(w, M_C1);
          k = (k << 15) | (k >>> 17);
          h ^= Math.imul(k, M_C2);
          h = (h << 13) | (h >>> 19);
          h = (Math.imul(h, 5) + M_N) | 0;
          pos += 4;
        }
        let k = 0;
        for (let sh = 0; pos < le; pos++, sh += 8) {
          const b = buf[pos]!;
          if (b === PIPE) break;
          k |= b << sh;
        }
        if (k !== 0) {
          k = Math.imul(k, M_C1);
          k = (k << 15) | (k >>> 17);
          h ^= Math.imul(k, M_C2);
        }
        tagEnd = pos;
        tagHash = h ^ (pos - tagStart);
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
        tagHash = hashTagBytes(buf, tagStart, tagEnd);
      }
      s.type = type as MetricType;
      s.buf = buf;
      s.keyStart = ls;
      s.keyEnd = keyEnd;
      s.tagStart = tagStart;
      s.tagEnd = tagEnd;
      s.sampleRate = rate;
      s.keyHash = keyHash ^ tagHash; // hashRawKey
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
