/**
 * The aggregator's settings, mapped from the config in one place (at construction and at every
 * reconfigure alike); the loaded config has every key (its defaults are applied in src/config).
 *
 * A reconfigure applies them in two steps (see Aggregator.reconfigure): what governs a flush's
 * compute and clearing before the interval is captured, and what would change the interval's
 * already-counted data (reservoir size, histograms, sanitising) once it is cleared.
 */
import type { TallydConfig } from '../config/types.js';
import { compileThresholds, type Threshold } from './percentiles.js';

export interface AggregatorSettings {
  readonly flushIntervalMs: number;
  readonly thresholds: readonly Threshold[];
  /** The config's `histogram` rules (each timer store compiles them, once per change). */
  readonly histogram: TallydConfig['histogram'];
  readonly reservoirSize: number;
  /** Timers past their reservoir go to an exponential histogram of at most expMaxBuckets buckets per sign. */
  readonly expOn: boolean;
  readonly expMaxBuckets: number;
  readonly sanitize: boolean;
  readonly deleteCounters: boolean;
  readonly deleteTimers: boolean;
  readonly deleteGauges: boolean;
  readonly deleteSets: boolean;
  readonly gaugesMaxTTL: number;
  /** Key-explosion guard (maxKeys) and idle-key reclaim (idleKeyTtl, 0: off). */
  readonly maxKeys: number;
  readonly idleKeyTtl: number;
  /** Byte bounds: a key's and a set member's length, the key names' bytes, a set's members per interval. */
  readonly maxKeyLength: number;
  readonly keyTableBytes: number;
  readonly setMaxMembers: number;
}

export function settingsOf(c: TallydConfig): AggregatorSettings {
  return {
    flushIntervalMs: c.flushInterval,
    thresholds: compileThresholds(c.percentThreshold),
    histogram: c.histogram,
    reservoirSize: Math.max(1, Math.floor(c.reservoirSize)),
    expOn: c.timerHistogram,
    expMaxBuckets: c.timerHistogramMaxBuckets,
    sanitize: c.keyNameSanitize,
    deleteCounters: c.deleteCounters,
    deleteTimers: c.deleteTimers,
    deleteGauges: c.deleteGauges,
    deleteSets: c.deleteSets,
    gaugesMaxTTL: Math.max(1, Math.floor(c.gaugesMaxTTL)),
    maxKeys: c.maxKeys,
    idleKeyTtl: c.idleKeyTtl,
    maxKeyLength: c.maxKeyLength,
    keyTableBytes: c.keyTableBytes,
    setMaxMembers: c.setMaxMembers,
  };
}
