/**
 * Canonical metric identity (slow path): called once per distinct raw key by the aggregator,
 * never per line, so it favours clarity (regexes, strings, arrays) over speed.
 *
 * Tag dialects, all enabled (like prometheus/statsd_exporter):
 * - DogStatsD, after `|#`:      `k:v,k2:v2` (a bare `k` gets the value `true`)
 * - InfluxDB, in the key:       `name,k=v,k2=v2`
 * - Librato, in the key:        `name#k=v,k2=v2`
 * - SignalFX, in the key:       `na[k=v,k2=v2]me` (brackets anywhere; the name parts are joined)
 * In the key dialects an entry without `=` is dropped (as statsd_exporter does). SignalFX is
 * tried first; when a key has brackets, `,`/`#` are not looked at.
 *
 * Tag names are sanitised with {@link sanitizeKey}; a tag whose name becomes empty, or whose value
 * is empty, is dropped. Tag VALUES are kept as sent in `tags` (Prometheus shows them verbatim,
 * escaped, as statsd_exporter does) and sanitised only in `graphiteTags` (Graphite's `;k=v`
 * syntax), where a value that sanitises to '' is left out (Graphite refuses empty tag values).
 * The identity (`id`) stays the Graphite one, so two spellings whose values differ only in what
 * Graphite removes (`route:/a` and `route:-a`) are one series, labelled with the first spelling
 * seen. A repeated name keeps the last value, DogStatsD tags counting after key tags. Tags are
 * sorted by name (code-unit order).
 */
import type { MetricKey, Tag } from './types.js';

const WHITESPACE_RUN = /\s+/g;
const SLASH = /\//g;
const NOT_ALLOWED = /[^A-Za-z0-9_\-.]/g;

/**
 * The original's keyNameSanitize: whitespace runs → `_`, `/` → `-`, then everything outside
 * `[A-Za-z0-9_\-.]` is removed. (The original also keeps `;` and `=`, because its tags are part
 * of the key; tallyd keeps tags apart.)
 */
export function sanitizeKey(name: string): string {
  return name.replace(WHITESPACE_RUN, '_').replace(SLASH, '-').replace(NOT_ALLOWED, '');
}

/**
 * True when a canonical name is empty or only dots (`!!!`, `日本` and `#k=v` sanitise to '', `...`
 * stays `...`): it would be a nameless series in Graphite (`stats_counts. 4`, hidden .wsp files).
 * Such lines are refused (`empty_key`).
 */
export function isNamelessKey(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== 0x2e) return false;
  return true;
}

/** Value given to a DogStatsD tag without `:` (Graphite tags need a value). */
export const BARE_TAG_VALUE = 'true';

/** Add `k=v` entries of a key dialect (`,`-separated) to `tags`. */
function addKeyTags(text: string, tags: Map<string, string>): void {
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    addTag(tags, entry.slice(0, eq), entry.slice(eq + 1));
  }
}

/** Tag name given to a DogStatsD container id (`|c:<id>`) when `dogstatsdContainerIdTag` asks for it. */
export const CONTAINER_ID_TAG = 'container_id';

/**
 * Add DogStatsD `k:v` entries (`,`-separated) to `tags`. With `dogstatsdContainerIdTag` the text may
 * span several `|`-separated fields (see Sample.containerIdTag): the first segment (unless empty) and
 * any `#…` segment are tags, a `c:<id>` segment is the container id, anything else is skipped.
 */
function addDogTags(text: string, tags: Map<string, string>): void {
  if (text.includes('|')) {
    const segments = text.split('|');
    segments.forEach((seg, i) => {
      if (seg.startsWith('#')) addDogTags(seg.slice(1), tags);
      else if (seg.startsWith('c:')) addTag(tags, CONTAINER_ID_TAG, seg.slice(2));
      else if (i === 0) addDogTags(seg, tags);
    });
    return;
  }
  for (const entry of text.split(',')) {
    if (entry.length === 0) continue;
    const colon = entry.indexOf(':');
    if (colon < 0) addTag(tags, entry, BARE_TAG_VALUE);
    else addTag(tags, entry.slice(0, colon), entry.slice(colon + 1));
  }
}

function addTag(tags: Map<string, string>, rawName: string, rawValue: string): void {
  const name = sanitizeKey(rawName);
  if (name.length === 0 || rawValue.length === 0) return;
  tags.delete(name); // last one wins
  tags.set(name, rawValue);
}

/**
 * Graphite's tag suffix `;k=v;k2=v2` for tags sorted by name: values sanitised with
 * {@link sanitizeKey}, a tag whose value sanitises to '' left out. Names are already sanitised.
 */
export function graphiteTagSuffix(tags: readonly Tag[]): string {
  let out = '';
  for (const [k, v] of tags) {
    const clean = isPlainKey(v) ? v : sanitizeKey(v);
    if (clean.length > 0) out += `;${k}=${clean}`;
  }
  return out;
}

/** Split the tag syntax of the key dialects off `rawKey`; returns the bare name. */
function splitKey(rawKey: string, tags: Map<string, string>): string {
  const open = rawKey.indexOf('[');
  const close = rawKey.indexOf(']');
  if (open >= 0 && close > open) {
    addKeyTags(rawKey.slice(open + 1, close), tags);
    return rawKey.slice(0, open) + rawKey.slice(close + 1);
  }
  if (open >= 0 || close >= 0) return rawKey; // unbalanced brackets: not SignalFX, keep as is
  for (let i = 0; i < rawKey.length; i++) {
    const c = rawKey.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2c /* , */) {
      addKeyTags(rawKey.slice(i + 1), tags);
      return rawKey.slice(0, i);
    }
  }
  return rawKey;
}

/**
 * Shared by every untagged key (one frozen empty array, not one per key: measured ~30 B/key at 1M keys,
 * row 2 of `node dist/bench/claims.bench.js`).
 */
const NO_TAGS: readonly Tag[] = Object.freeze([]);

/** True when `key` has only `[A-Za-z0-9_.-]`: nothing to sanitise and no key-dialect tags. */
function isPlainKey(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d;
    if (!ok) return false;
  }
  return key.length > 0;
}

function byName(a: Tag, b: Tag): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * The canonical identity of a raw key plus its DogStatsD tag text (the bytes after `|#`, '' when
 * none). With `sanitize` false the name is kept as is; tag names are sanitised regardless, tag values
 * only in `graphiteTags`.
 * The result (and its tags) is frozen: it is shared by every store and snapshot.
 */
export function canonicalKey(rawKey: string, dogTags: string, sanitize: boolean): MetricKey {
  // The common case (an untagged, already clean key): no regex, no map, no new strings.
  if (dogTags.length === 0 && isPlainKey(rawKey)) {
    return Object.freeze({ name: rawKey, tags: NO_TAGS, graphiteTags: '', id: rawKey });
  }
  const tagMap = new Map<string, string>();
  const bare = splitKey(rawKey, tagMap);
  if (dogTags.length > 0) addDogTags(dogTags, tagMap);
  const name = sanitize ? sanitizeKey(bare) : bare;
  const tags: Tag[] = [];
  for (const [k, v] of tagMap) tags.push(Object.freeze([k, v] as const));
  tags.sort(byName);
  const graphiteTags = graphiteTagSuffix(tags);
  return Object.freeze({
    name,
    tags: tags.length === 0 ? NO_TAGS : Object.freeze(tags),
    graphiteTags,
    id: name + graphiteTags,
  });
}
