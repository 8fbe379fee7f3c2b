/**
 * The shape of the config schema (../schema.ts): a section is a list of keys, each with its type,
 * default, meaning, how it is checked and what a reload does when it changes; and the few helpers
 * the sections' texts share.
 */

/**
 * What a reload does when the key changes:
 * - `none`: read where it is used; applies at once, nothing is rebuilt;
 * - `pipeline`: applied in place by the running daemon (aggregation from the next flush, the flush
 *   timer, listeners, the admin interface, the status page); backends are kept;
 * - `backends`: the backends are rebuilt (Prometheus takes it in place, keeping its series);
 * - `restart`: takes effect at the next start.
 */
export type ReloadEffect = 'none' | 'pipeline' | 'backends' | 'restart';

export const INT_MAX = 2 ** 31 - 1;

/** How validate.ts reads a key. The `expected` texts are the messages' wording (`expected <expected>, got <value>`). */
export type Check =
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number; readonly expected: string }
  | { readonly kind: 'port'; readonly allowZero: boolean }
  | { readonly kind: 'str'; readonly nonEmpty?: boolean }
  /** a string; unset or '' reads as undefined */
  | { readonly kind: 'optStr' }
  | { readonly kind: 'oneOf'; readonly values: readonly string[]; readonly expected?: string }
  /** a nested section, read key by key through its own schema */
  | { readonly kind: 'section'; readonly section: SectionSchema }
  /** read by a named reader in validate.ts (lists, keys that depend on others) */
  | { readonly kind: 'custom' }
  /** read by another key's reader (e.g. `port` by `servers`) */
  | { readonly kind: 'by'; readonly key: string };

export interface KeySchema {
  /** The key as written in the file (within its section). */
  readonly key: string;
  /** Where the value goes in the section's part of TallydConfig ('graphite.host'); absent: nowhere of its own. */
  readonly field?: string;
  readonly check: Check;
  /** The value when unset (generic checks). */
  readonly def?: unknown;
  /** For the reference: the type, the default as written there (else derived from `def`), the meaning. */
  readonly type: string;
  readonly defaultDoc?: string;
  readonly doc: string;
  readonly reload: ReloadEffect;
}

export interface SectionSchema {
  /** The path written before each key in messages and in the reference ('graphite.', 'servers[].'); '' for the top level. */
  readonly prefix: string;
  /** The reference's heading and anchor. */
  readonly title: string;
  readonly anchor: string;
  /** A sentence under the heading in the reference. */
  readonly intro?: string;
  readonly keys: readonly KeySchema[];
}

export const ms = (what: string): string => `a ${what} integer (ms)`;

export const seeSection = (s: SectionSchema): string => `see [${s.title}](#${s.anchor})`;
