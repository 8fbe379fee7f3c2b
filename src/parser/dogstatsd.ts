/**
 * DogStatsD beyond metric lines: events and service checks (parsed, checked, counted; tallyd stores
 * neither), and the byte helpers the scanner uses for DogStatsD's `|name:value` fields.
 *
 *   _e{<title bytes>,<text bytes>}:<title>|<text>[|d:<ts>][|h:<host>][|k:<key>][|p:normal|low]
 *       [|s:<source>][|t:error|warning|info|success][|#<tags>][|c:…][|e:…][|card:…]
 *   _sc|<name>|<0|1|2|3>[|d:<ts>][|h:<host>][|#<tags>][|c:…][|e:…][|card:…][|m:<message, to the end>]
 *
 * As the Datadog agent: the lengths are UTF-8 bytes, the title may not be empty, a service check's
 * status is one of 0-3 and its name is not empty. Stricter than the agent (which logs and keeps the
 * event): a field that is empty, not `name:`/`#`, or whose `d:`, `p:`, `t:` value is not valid makes
 * the line bad (`bad_event_field`, `bad_service_check_field`). An unknown `name:` field is skipped and
 * counted (dogstatsd_unknown_fields), as on metric lines. Slow path: only lines starting with `_e{` or `_sc|`.
 */
import { BadLine, DogCount, type SampleSink } from './types.js';

const PIPE = 0x7c;
const COLON = 0x3a;
const COMMA = 0x2c;
const HASH = 0x23;
const MINUS = 0x2d;
const RBRACE = 0x7d;
const CH_a = 0x61;
const CH_c = 0x63;
const CH_d = 0x64;
const CH_e = 0x65;
const CH_m = 0x6d;
const CH_p = 0x70;
const CH_r = 0x72;
const CH_t = 0x74;
const CH_z = 0x7a;
/** Digits of a length in an event header (a longer one cannot fit in a line anyway). */
const MAX_LENGTH_DIGITS = 9;

/** The length of `name` when `buf[fStart, le)` starts with `name:` (lower-case letters), else -1. */
export function fieldNameLength(buf: Buffer, fStart: number, le: number): number {
  let q = fStart;
  while (q < le) {
    const c = buf[q]!;
    if (c < CH_a || c > CH_z) break;
    q++;
  }
  return q > fStart && q < le && buf[q] === COLON ? q - fStart : -1;
}

/** The {@link DogCount} of a `|name:` field whose name is `buf[fStart, fStart + len)`. */
export function namedFieldKind(buf: Buffer, fStart: number, len: number): DogCount {
  const c = buf[fStart];
  if (len === 1) {
    if (c === CH_c) return DogCount.ContainerId;
    if (c === CH_e) return DogCount.ExternalData;
  } else if (len === 4 && c === CH_c && buf[fStart + 1] === CH_a && buf[fStart + 2] === CH_r && buf[fStart + 3] === CH_d) {
    return DogCount.Cardinality;
  }
  return DogCount.UnknownField;
}

/** True when `buf[start, end)` is one or more ASCII digits. */
export function isDigits(buf: Buffer, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

/** `buf[start, end)` equals the ASCII string `word`. */
function equals(buf: Buffer, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** An integer timestamp (`d:`), optionally negative (the agent parses it with ParseInt). */
function isInteger(buf: Buffer, start: number, end: number): boolean {
  return isDigits(buf, buf[start] === MINUS ? start + 1 : start, end);
}

/** Counts of the origin fields of one event or service check, handed to the sink once it is known good. */
class FieldCounts {
  cid = 0;
  ext = 0;
  card = 0;
  unknown = 0;
  reset(): void {
    this.cid = this.ext = this.card = this.unknown = 0;
  }
  add(kind: DogCount): void {
    if (kind === DogCount.ContainerId) this.cid++;
    else if (kind === DogCount.ExternalData) this.ext++;
    else if (kind === DogCount.Cardinality) this.card++;
    else this.unknown++;
  }
  flush(sink: SampleSink): void {
    for (let i = 0; i < this.cid; i++) sink.dogCount(DogCount.ContainerId);
    for (let i = 0; i < this.ext; i++) sink.dogCount(DogCount.ExternalData);
    for (let i = 0; i < this.card; i++) sink.dogCount(DogCount.Cardinality);
    for (let i = 0; i < this.unknown; i++) sink.dogCount(DogCount.UnknownField);
  }
}

/** (one per process: events are parsed one at a time, synchronously) */
const counts = new FieldCounts();

/** Reads a length of the event header at `p`; returns [value, end] packed as value * 2^5 + digits, or -1. */
function readLength(buf: Buffer, p: number, le: number): number {
  let v = 0;
  let q = p;
  while (q < le && q - p <= MAX_LENGTH_DIGITS) {
    const d = buf[q]! - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    q++;
  }
  const n = q - p;
  return n === 0 || n > MAX_LENGTH_DIGITS ? -1 : v * 32 + n;
}

/**
 * An event line `buf[ls, le)` (starting `_e{`): counted (dogstatsd_events) when well-formed, else a
 * bad line (`bad_event`, `bad_event_field`).
 */
export function parseEvent(buf: Buffer, ls: number, le: number, sink: SampleSink): void {
  let p = ls + 3;
  const a = readLength(buf, p, le);
  if (a < 0) {
    sink.badLine(BadLine.BadEvent, buf, ls, le);
    return;
  }
  const titleLen = Math.floor(a / 32);
  p += a % 32;
  if (p >= le || buf[p] !== COMMA) {
    sink.badLine(BadLine.BadEvent, buf, ls, le);
    return;
  }
  p++;
  const b = readLength(buf, p, le);
  if (b < 0) {
    sink.badLine(BadLine.BadEvent, buf, ls, le);
    return;
  }
  const textLen = Math.floor(b / 32);
  p += b % 32;
  if (p + 1 >= le || buf[p] !== RBRACE || buf[p + 1] !== COLON || titleLen === 0) {
    sink.badLine(BadLine.BadEvent, buf, ls, le);
    return;
  }
  p += 2;
  // title, '|', text: the lengths must land on the separators
  const textEnd = p + titleLen + 1 + textLen;
  if (textEnd > le || buf[p + titleLen] !== PIPE || (textEnd < le && buf[textEnd] !== PIPE)) {
    sink.badLine(BadLine.BadEvent, buf, ls, le);
    return;
  }
  p = textEnd;
  counts.reset();
  while (p < le) {
    // buf[p] is '|'
    const f = p + 1;
    let e = f;
    while (e < le && buf[e] !== PIPE) e++;
    if (e > f && buf[f] !== HASH) {
      const n = fieldNameLength(buf, f, e);
      let ok = n > 0;
      if (n === 1) {
        const c = buf[f];
        if (c === CH_d) ok = isInteger(buf, f + 2, e);
        else if (c === CH_p) ok = equals(buf, f + 2, e, 'normal') || equals(buf, f + 2, e, 'low');
        else if (c === CH_t)
          ok =
            equals(buf, f + 2, e, 'error') ||
            equals(buf, f + 2, e, 'warning') ||
            equals(buf, f + 2, e, 'info') ||
            equals(buf, f + 2, e, 'success');
        else if (c !== 0x68 /* h */ && c !== 0x6b /* k */ && c !== 0x73 /* s */) counts.add(namedFieldKind(buf, f, n));
      } else if (n > 1) {
        counts.add(namedFieldKind(buf, f, n));
      }
      if (!ok) {
        sink.badLine(BadLine.BadEventField, buf, ls, le);
        return;
      }
    } else if (e === f) {
      sink.badLine(BadLine.BadEventField, buf, ls, le);
      return;
    }
    p = e;
  }
  counts.flush(sink);
  sink.dogCount(DogCount.Event);
}

/**
 * A service check line `buf[ls, le)` (starting `_sc|`): counted (dogstatsd_service_checks) when
 * well-formed, else a bad line (`bad_service_check`, `bad_service_check_field`).
 */
export function parseServiceCheck(buf: Buffer, ls: number, le: number, sink: SampleSink): void {
  const nameStart = ls + 4;
  let p = nameStart;
  while (p < le && buf[p] !== PIPE) p++;
  // a name, then a status of one digit 0-3
  const st = p + 1;
  let se = st;
  while (se < le && buf[se] !== PIPE) se++;
  if (p === nameStart || p >= le || se - st !== 1 || buf[st]! < 0x30 || buf[st]! > 0x33) {
    sink.badLine(BadLine.BadServiceCheck, buf, ls, le);
    return;
  }
  p = se;
  counts.reset();
  while (p < le) {
    const f = p + 1;
    if (f + 1 < le && buf[f] === CH_m && buf[f + 1] === COLON) break; // the message: the last field, to the end of the line
    let e = f;
    while (e < le && buf[e] !== PIPE) e++;
    if (e === f) {
      sink.badLine(BadLine.BadServiceCheckField, buf, ls, le);
      return;
    }
    if (buf[f] !== HASH) {
      const n = fieldNameLength(buf, f, e);
      let ok = n > 0;
      if (n === 1 && buf[f] === CH_d) ok = isInteger(buf, f + 2, e);
      else if (n === 1 && buf[f] === 0x68 /* h */) ok = true;
      else if (n > 0) counts.add(namedFieldKind(buf, f, n));
      if (!ok) {
        sink.badLine(BadLine.BadServiceCheckField, buf, ls, le);
        return;
      }
    }
    p = e;
  }
  counts.flush(sink);
  sink.dogCount(DogCount.ServiceCheck);
}
