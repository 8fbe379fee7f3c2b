/**
 * Reading raw config values: the Reader collects every problem and warning (messages name the key:
 * `config key 'x': expected <what>, got <value>`), with the checks every key type uses.
 */
import { closestKey } from './suggest.js';

/** `unknown config key 'x' (ignored)`, with `; did you mean 'y'?` when a known key is close. */
export function unknownKeyMessage(prefix: string, key: string, known: Iterable<string>): string {
  const near = closestKey(key, known);
  return `unknown config key '${prefix}${key}' (ignored${near === undefined ? '' : `; did you mean '${prefix}${near}'?`})`;
}

/** A value for a message: strings quoted (JSON), the rest as JSON or String(). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number') return String(value);
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 60 ? `${json.slice(0, 57)}...` : json;
  } catch {
    return String(value);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** null and undefined both mean "not set" (the original reads `config.x || default`). */
export function isUnset(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

/** Number from a number or a numeric string (the original passes strings to Number() or bind()). */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

/** Collects problems and warnings while reading keys. */
export class Reader {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  problem(key: string, expected: string, value: unknown): void {
    this.problems.push(`config key '${key}': expected ${expected}, got ${describeValue(value)}`);
  }

  note(key: string, message: string): void {
    this.problems.push(`config key '${key}': ${message}`);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  unknownKeys(obj: Record<string, unknown>, known: ReadonlySet<string>, prefix: string): void {
    for (const key of Object.keys(obj)) {
      if (!known.has(key)) this.warn(unknownKeyMessage(prefix, key, known));
    }
  }

  bool(key: string, value: unknown, def: boolean): boolean {
    if (isUnset(value)) return def;
    if (typeof value === 'boolean') return value;
    // 0 and 1 are common in hand-written files and mean what the original's truthiness makes of them.
    if (value === 0 || value === 1) return value === 1;
    this.problem(key, 'true or false', value);
    return def;
  }

  str(key: string, value: unknown, def: string, opts: { nonEmpty?: boolean } = {}): string {
    if (isUnset(value)) return def;
    if (typeof value !== 'string' || (opts.nonEmpty === true && value === '')) {
      this.problem(key, opts.nonEmpty === true ? 'a non-empty string' : 'a string', value);
      return def;
    }
    return value;
  }

  optStr(key: string, value: unknown): string | undefined {
    if (isUnset(value) || value === '') return undefined;
    if (typeof value !== 'string') {
      this.problem(key, 'a string', value);
      return undefined;
    }
    return value;
  }

  int(key: string, value: unknown, def: number, min: number, max: number, expected: string): number {
    if (isUnset(value)) return def;
    const n = toNumber(value);
    if (n === undefined || !Number.isInteger(n) || n < min || n > max) {
      this.problem(key, expected, value);
      return def;
    }
    return n;
  }

  port(key: string, value: unknown, def: number, allowZero: boolean): number {
    const min = allowZero ? 0 : 1;
    return this.int(key, value, def, min, 65535, `a port number (${min}..65535)`);
  }

  oneOf<T extends string>(key: string, value: unknown, def: T, allowed: readonly T[], expected?: string): T {
    if (isUnset(value)) return def;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.problem(key, expected ?? `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
    return def;
  }

  section(key: string, value: unknown): Record<string, unknown> {
    if (isUnset(value)) return {};
    if (!isPlainObject(value)) {
      this.problem(key, 'an object', value);
      return {};
    }
    return value;
  }

  list(key: string, value: unknown, expected: string): unknown[] | undefined {
    if (isUnset(value)) return undefined;
    if (!Array.isArray(value)) {
      this.problem(key, expected, value);
      return undefined;
    }
    return value;
  }
}
