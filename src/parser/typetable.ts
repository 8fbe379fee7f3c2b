/**
 * The parser's type table: a line's type suffix (the bytes after `|`) → its metric type code. The
 * core four register here, below; a new metric type registers its suffix with one more line (its
 * store module registers in src/aggregator/stores.ts). The general path (./line.ts) looks a suffix up
 * by its bytes, no string made: one typed-array read for 1 and 2 bytes, a short scan for 3 and 4. The
 * fast path (./scanner.ts) keeps its own compares for `c`, `g` and `ms`, the lines that dominate real
 * traffic, and sends any other suffix to the general path, so a registered type is parsed there.
 *
 * A registered type's value is a number, parsed and checked as a counter's (the set's members and
 * the timer's refusal of negatives are the core types' own rules).
 */
import { MetricType } from './types.js';

/** Longest suffix the table holds, bytes. */
export const MAX_SUFFIX_BYTES = 4;

/** 1-byte suffixes: type code by byte, -1 when none. */
export const TYPE_BY_1: Int8Array = new Int8Array(256).fill(-1);
/** 2-byte suffixes: type code by `first << 8 | second`, -1 when none. */
export const TYPE_BY_2: Int8Array = new Int8Array(65536).fill(-1);
/** 3- and 4-byte suffixes: their bytes packed (`b0 << 24 | b1 << 16 | b2 << 8 | b3`, length in `LONG_LEN`) and type codes. */
export const LONG_CODE: number[] = [];
export const LONG_LEN: number[] = [];
export const LONG_TYPE: number[] = [];

function pack(bytes: Buffer): number {
  let v = 0;
  for (let i = 0; i < bytes.length; i++) v = (v << 8) | bytes[i]!;
  return v >>> 0;
}

/**
 * Registers `suffix` (1 to 4 printable ASCII bytes, not `|`, `:`, `@` or `#`) as metric type `type`
 * (0..127). Returns a function that removes it again (for tests). Throws for a suffix already taken.
 */
export function registerTypeSuffix(suffix: string, type: number): () => void {
  const bytes = Buffer.from(suffix, 'latin1');
  if (bytes.length < 1 || bytes.length > MAX_SUFFIX_BYTES || !/^[!-~]+$/.test(suffix) || /[|:@#]/.test(suffix)) {
    throw new RangeError(`type suffix '${suffix}': expected 1 to ${MAX_SUFFIX_BYTES} printable ASCII bytes other than | : @ #`);
  }
  if (!Number.isInteger(type) || type < 0 || type > 127) throw new RangeError(`metric type ${type}: expected 0..127`);
  if (typeOfSuffix(bytes, 0, bytes.length) >= 0) throw new RangeError(`type suffix '${suffix}' is already registered`);
  if (bytes.length === 1) {
    TYPE_BY_1[bytes[0]!] = type;
    return () => {
      TYPE_BY_1[bytes[0]!] = -1;
    };
  }
  if (bytes.length === 2) {
    const i = (bytes[0]! << 8) | bytes[1]!;
    TYPE_BY_2[i] = type;
    return () => {
      TYPE_BY_2[i] = -1;
    };
  }
  const code = pack(bytes);
  LONG_CODE.push(code);
  LONG_LEN.push(bytes.length);
  LONG_TYPE.push(type);
  return () => {
    for (let i = 0; i < LONG_CODE.length; i++) {
      if (LONG_CODE[i] === code && LONG_LEN[i] === bytes.length) {
        LONG_CODE.splice(i, 1);
        LONG_LEN.splice(i, 1);
        LONG_TYPE.splice(i, 1);
        return;
      }
    }
  };
}

/** The type code of the suffix `buf[start, end)` (already trimmed), or -1 when none is registered. */
export function typeOfSuffix(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 1) return TYPE_BY_1[buf[start]!]!;
  if (len === 2) return TYPE_BY_2[(buf[start]! << 8) | buf[start + 1]!]!;
  if (len > MAX_SUFFIX_BYTES || len < 1) return -1;
  let code = 0;
  for (let i = start; i < end; i++) code = (code << 8) | buf[i]!;
  code >>>= 0;
  for (let i = 0; i < LONG_CODE.length; i++) if (LONG_CODE[i] === code && LONG_LEN[i] === len) return LONG_TYPE[i]!;
  return -1;
}

// The core four: the original's `c`, `g`, `s`, `ms`, and DogStatsD's `h` (histogram) and `d`
// (distribution), both aggregated as timers.
registerTypeSuffix('c', MetricType.Counter);
registerTypeSuffix('g', MetricType.Gauge);
registerTypeSuffix('s', MetricType.Set);
registerTypeSuffix('ms', MetricType.Timer);
registerTypeSuffix('h', MetricType.Timer);
registerTypeSuffix('d', MetricType.Timer);
