/**
 * The `counters`/`timers`/`gauges` answer: what `util.inspect` prints for an object of the dumped
 * entries, byte for byte, but built entry by entry in slices that yield to ingest (one inspect() of a
 * million-key object holds the event loop for seconds, and building that object takes as long).
 *
 * inspect() prints an object on one line when its entries fit in 80 columns and none spans lines,
 * else one entry per line, indented by two. An entry prints the same alone as among others, so each
 * is formatted on its own: a plain number under a printable key directly, anything else by inspect().
 * Keys that are array indexes ('4') come first, in numeric order, as in any JS object.
 */
import { inspect } from 'node:util';
import { DEFAULT_FLUSH_SLICE_MS } from '../aggregator/flushjob.js';
import { nextTurn, type YieldToIngest } from '../pipeline/scheduler.js';

/** inspect()'s breakLength. */
const BREAK_LENGTH = 80;
const CHECK_UNITS = 256;
/** Keys inspect() prints unquoted. */
const IDENTIFIER = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
/** Keys inspect() prints as '<key>' with nothing escaped (printable ASCII, no quote, no backslash). */
const PLAIN_KEY = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

/** One `key: value` as inspect() prints it inside a top-level object. */
export function entryText(key: string, value: unknown): string {
  // (an own `__proto__` is printed as ['__proto__']: left to inspect)
  if (typeof value === 'number' && key !== '__proto__' && PLAIN_KEY.test(key)) {
    const k = IDENTIFIER.test(key) ? key : `'${key}'`;
    return `${k}: ${Object.is(value, -0) ? '-0' : String(value)}`;
  }
  const one: Record<string, unknown> = {};
  Object.defineProperty(one, key, { value, enumerable: true, writable: true, configurable: true });
  const text = inspect(one);
  return text.startsWith('{\n  ') ? text.slice(4, -2) : text.slice(2, -2);
}

/** Entries per chunk of a multi-line answer (one join of a million entries holds the loop ~0.5 s). */
export const CHUNK_ENTRIES = 4096;

/** Joins formatted entries as inspect() joins an object's, as chunks of at most CHUNK_ENTRIES entries. */
function join(parts: readonly string[], total: number, multiline: boolean): string[] {
  if (parts.length === 0) return ['{}'];
  // inspect's reduceToSingleString: entries + their lengths + the braces and separators within 80 columns
  if (!multiline && total + parts.length + parts.length + 11 <= BREAK_LENGTH) return [`{ ${parts.join(', ')} }`];
  const chunks: string[] = [];
  for (let i = 0; i < parts.length; i += CHUNK_ENTRIES) {
    const body = parts.slice(i, i + CHUNK_ENTRIES).join(',\n  ');
    chunks.push((i === 0 ? '{\n  ' : ',\n  ') + body);
  }
  chunks.push('\n}');
  return chunks;
}

/** Array-index keys('0', '17', …, below 2³² − 1): an object lists them first, in numeric order. */
function isIndexKey(key: string): boolean {
  if (key.length === 0) return false;
  const c = key.charCodeAt(0);
  if (c < 0x30 || c > 0x39 || (c === 0x30 && key.length > 1) || key.length > 10) return false;
  for (let i = 1; i < key.length; i++) {
    const d = key.charCodeAt(i);
    if (d < 0x30 || d > 0x39) return false;
  }
  return Number(key) < 4294967295;
}

/** The entries in an object's property order: index keys first (ascending), then the rest as given. */
function propertyOrder(entries: ReadonlyArray<readonly [string, unknown]>): ReadonlyArray<readonly [string, unknown]> {
  let indexKeys: Array<readonly [string, unknown]> | null = null;
  for (const e of entries) if (isIndexKey(e[0])) (indexKeys ??= []).push(e);
  if (indexKeys === null) return entries;
  indexKeys.sort((a, b) => Number(a[0]) - Number(b[0]));
  return [...indexKeys, ...entries.filter((e) => !isIndexKey(e[0]))];
}

/** inspect() of the object of these entries, at once. */
export function formatEntries(given: ReadonlyArray<readonly [string, unknown]>): string {
  return formatEntryChunks(given).join('');
}

/** inspect() of the object of these entries, as chunks to write one after the other. */
export function formatEntryChunks(given: ReadonlyArray<readonly [string, unknown]>): string[] {
  const entries = propertyOrder(given);
  const parts = new Array<string>(entries.length);
  let total = 0;
  let multiline = false;
  for (let i = 0; i < entries.length; i++) {
    const e = entryText(entries[i]![0], entries[i]![1]);
    parts[i] = e;
    total += e.length;
    if (!multiline && e.includes('\n')) multiline = true;
  }
  return join(parts, total, multiline);
}

/** An object of more entries than this never fits inspect()'s one line (an entry takes 4 columns at least). */
const ONE_LINE_MAX_ENTRIES = 12;

/**
 * formatEntryChunks in slices of `sliceMs` that yield to ingest between them: entries are formatted
 * and joined into chunks of CHUNK_ENTRIES as they go (one join of a million entries takes ~0.5 s).
 */
export async function formatEntriesSliced(
  given: ReadonlyArray<readonly [string, unknown]>,
  yieldFn: YieldToIngest = nextTurn,
  sliceMs = DEFAULT_FLUSH_SLICE_MS,
): Promise<string[]> {
  const entries = propertyOrder(given);
  if (entries.length <= ONE_LINE_MAX_ENTRIES) return formatEntryChunks(entries);
  const chunks: string[] = [];
  let parts: string[] = [];
  let deadline = performance.now() + sliceMs;
  for (let i = 0; i < entries.length; i++) {
    parts.push(entryText(entries[i]![0], entries[i]![1]));
    if (parts.length === CHUNK_ENTRIES || i === entries.length - 1) {
      chunks.push((chunks.length === 0 ? '{\n  ' : ',\n  ') + parts.join(',\n  '));
      parts = [];
    }
    if (i % CHECK_UNITS === CHECK_UNITS - 1 && performance.now() >= deadline) {
      await yieldFn();
      deadline = performance.now() + sliceMs;
    }
  }
  chunks.push('\n}');
  return chunks;
}
