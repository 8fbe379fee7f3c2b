/**
 * The names of the daemon's own counters (indexed by core.ts's OWN_*) and of its timestamp_lag
 * gauge, under prefixStats.
 */
import { DOG_COUNT_NAMES, type MetricKey } from '../parser/types.js';

/** A MetricKey for the daemon's own names (taken as given, not sanitised, as the original). */
export function plainKey(name: string): MetricKey {
  return Object.freeze({ name, tags: Object.freeze([]), graphiteTags: '', id: name });
}

/**
 * The daemon's own counters (indexed by core.ts's OWN_*), in the original's startup order:
 * bad_lines_seen, packets_received, metrics_received; then tallyd's keys_dropped and
 * set_members_dropped, each created at its first drop only (output stays the original's until
 * then), and the DogStatsD counts.
 */
export function ownKeys(p: string): MetricKey[] {
  return [
    plainKey(p + '.bad_lines_seen'),
    plainKey(p + '.packets_received'),
    plainKey(p + '.metrics_received'),
    plainKey(p + '.keys_dropped'),
    plainKey(p + '.set_members_dropped'),
    ...DOG_COUNT_NAMES.map((n) => plainKey(`${p}.${n}`)),
  ];
}
