/**
 * The config schema: every key tallyd reads, one section at a time (the core, and each backend's),
 * with its type, default, meaning, how it is checked and what a reload does when it changes. This is
 * the one place a key is declared: validate.ts reads the config through it (every problem at once),
 * the key sets (KNOWN_KEYS, GRAPHITE_KEYS, ...) are derived from it, a reload decides from it
 * whether backends are rebuilt ({@link backendsNeedRebuild}), and docs/reference.md's configuration
 * tables are generated from it (src/config/reference.ts, `npm run docs:reference`).
 *
 * The sections are in ./sections/ (the prometheus one with its backend, src/backends/prometheus/config.ts);
 * the top level's keys are assembled below from theirs, in reading order. Adding a key: one entry in
 * its section (and its field in types.ts). A generic `check` is read by validate.ts as is; `custom`
 * names a reader written there (servers, histogram, ...).
 */
import { PROMETHEUS_SECTION } from '../backends/prometheus/config.js';
import { ADMIN_KEYS, STATUS_PAGE_KEYS, STATUS_PAGE_SECTION } from './sections/admin.js';
import { AGGREGATION_KEYS, HISTOGRAM_SECTION, LIMIT_KEYS } from './sections/aggregation.js';
import { CONSOLE_SECTION, CONSOLE_TOP_KEYS } from './sections/console.js';
import { GRAPHITE_SECTION, GRAPHITE_TOP_KEYS } from './sections/graphite.js';
import { INPUT_KEYS, LISTEN_KEYS, SERVER_SECTION } from './sections/input.js';
import { KEY_FLUSH_SECTION, LOG_SECTION, PROCESS_KEYS, SYSLOG_SECTION } from './sections/process.js';
import { PROMETHEUS_TOP_KEYS } from './sections/prometheus.js';
import { REPEATER_TARGET_SECTION, REPEATER_TOP_KEYS } from './sections/repeater.js';
import type { KeySchema, SectionSchema } from './sections/types.js';

export type { Check, KeySchema, ReloadEffect, SectionSchema } from './sections/types.js';
export {
  CONSOLE_SECTION,
  GRAPHITE_SECTION,
  HISTOGRAM_SECTION,
  KEY_FLUSH_SECTION,
  LOG_SECTION,
  REPEATER_TARGET_SECTION,
  SERVER_SECTION,
  STATUS_PAGE_SECTION,
  SYSLOG_SECTION,
};

/** The top level. Keys are read in this order (a key another depends on is read first when asked for), so problems come out in it. */
export const CORE_SECTION: SectionSchema = {
  prefix: '',
  title: 'Top level',
  anchor: 'top-level',
  keys: [
    ...LISTEN_KEYS,
    ...ADMIN_KEYS,
    ...AGGREGATION_KEYS,
    ...PROCESS_KEYS,
    ...GRAPHITE_TOP_KEYS,
    ...CONSOLE_TOP_KEYS,
    ...REPEATER_TOP_KEYS,
    ...PROMETHEUS_TOP_KEYS,
    ...STATUS_PAGE_KEYS,
    ...INPUT_KEYS,
    ...LIMIT_KEYS,
  ],
};

/** Every section, in the reference's order. */
export const SECTIONS: readonly SectionSchema[] = [
  CORE_SECTION,
  SERVER_SECTION,
  GRAPHITE_SECTION,
  PROMETHEUS_SECTION,
  STATUS_PAGE_SECTION,
  KEY_FLUSH_SECTION,
  LOG_SECTION,
  SYSLOG_SECTION,
  HISTOGRAM_SECTION,
  REPEATER_TARGET_SECTION,
  CONSOLE_SECTION,
];

/** The keys of a section, as a set. */
export function keysOf(section: SectionSchema): ReadonlySet<string> {
  return new Set(section.keys.map((k) => k.key));
}

const CORE_BY_KEY: ReadonlyMap<string, KeySchema> = new Map(CORE_SECTION.keys.map((k) => [k.key, k]));

/** The top-level key's schema, or undefined for a key tallyd does not know (a plugin backend's section, a typo). */
export function coreKey(key: string): KeySchema | undefined {
  return CORE_BY_KEY.get(key);
}

/** A value compared across reloads: JSON with Infinity kept apart from null. */
function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'inf' : v)) ?? 'undefined';
}

/** The value at a dotted path ('graphite.host'). */
function valueAt(obj: unknown, path: string): unknown {
  let at = obj;
  for (const part of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

/** What backendsNeedRebuild compares: the typed config (fields the schema maps) and the config as written. */
export interface ReloadView {
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Whether a reload from `prev` to `next` must rebuild the backends: a top-level key whose reload
 * effect is `backends` changed (as written, or in the field it is read into), or a key the schema
 * does not know changed (an npm backend reads the whole config, as the original's backends do).
 * Keys only the pipeline reads (listeners, limits, the status page, logging...) never rebuild them.
 */
export function backendsNeedRebuild(prev: ReloadView, next: ReloadView): boolean {
  return changedBackendKeys(prev, next).length > 0;
}

/** The top-level keys behind {@link backendsNeedRebuild}'s answer (for logs and tests). */
export function changedBackendKeys(prev: ReloadView, next: ReloadView): string[] {
  const out: string[] = [];
  for (const key of new Set([...CORE_BY_KEY.keys(), ...Object.keys(prev.raw), ...Object.keys(next.raw)])) {
    const spec = CORE_BY_KEY.get(key);
    if (spec !== undefined && spec.reload !== 'backends') continue;
    if (fingerprint(prev.raw[key]) !== fingerprint(next.raw[key])) out.push(key);
    else if (spec?.field !== undefined && fingerprint(valueAt(prev, spec.field)) !== fingerprint(valueAt(next, spec.field))) out.push(key);
  }
  return out;
}
