/**
 * Graphite names: the path pieces that depend only on the config, computed once at start-up, and the
 * cleaning of a key name for a plaintext path.
 *
 *
 * Names and values follow the original statsd's backends/graphite.js + lib/process_metrics.js:
 *  - a line is `<path> <value> <unix seconds>\n`, the value formatted as JavaScript's String(number);
 *  - legacy namespace (the default): `stats.KEY` (rate), `stats_counts.KEY` (count), `stats.timers.KEY.FIELD`,
 *    `stats.gauges.KEY`, `stats.sets.KEY.count`, `statsd.numStats`, `stats.statsd.*`. As in the original,
 *    the legacy namespace ignores globalPrefix and the per-type prefixes (they apply to the new namespace);
 *  - new namespace: `[globalPrefix].[prefixCounter].KEY.rate|count`, `[globalPrefix].[prefixTimer].KEY.FIELD`, ...
 *    with empty prefixes left out;
 *  - globalSuffix: `.suffix` after the path; the key's Graphite tags (`;k=v`, sorted) after the suffix.
 *
 * Everything that depends only on the config (namespaces, which timer fields are kept) is computed once
 * by {@link graphiteFormatOptions}; the per-flush loop only concatenates strings.
 */
import type { GraphiteConfig, TallydConfig } from '../../config/types.js';
import { sanitizeKey } from '../../parser/canonical.js';
import { type TimerFieldFilter, timerFieldFilter } from '../timer-fields.js';

/** Precomputed path pieces. Every prefix string is either '' or ends with '.'. */
export interface GraphiteFormatOptions {
  readonly legacy: boolean;
  /** Path before KEY for the counter rate: legacy `stats.`, new `stats.counters.`. */
  readonly counterRatePrefix: string;
  /** After KEY for the rate: legacy '', new `.rate`. */
  readonly counterRateField: string;
  /** Path before KEY for the count: legacy `stats_counts.`, new `stats.counters.`. */
  readonly counterCountPrefix: string;
  /** After KEY for the count: legacy '', new `.count`. */
  readonly counterCountField: string;
  readonly timerPrefix: string;
  readonly gaugePrefix: string;
  readonly setPrefix: string;
  /**
   * Path before a registered type's part (other-types.ts): legacy `stats.`, new `[globalPrefix.]`, so
   * that its stats go to `stats.<part>.KEY` as the sets go to `stats.sets.KEY`.
   */
  readonly typeRoot: string;
  /** Full path of numStats: legacy `statsd.numStats`, new `stats.statsd.numStats`. */
  readonly numStatsPath: string;
  /** Prefix of the daemon's own figures (`processing_time`, `graphiteStats.calculationtime`). */
  readonly internalPrefix: string;
  /** Prefix of graphiteStats.last_exception etc.: `stats.statsd.graphiteStats.`. */
  readonly graphiteStatsPrefix: string;
  /** `.suffix` or ''. */
  readonly suffix: string;
  readonly flushCounts: boolean;
  readonly timerFields: TimerFieldFilter;
  /**
   * Clean each key's name on the way out (keyNameSanitize is off, so names reach here as received):
   * the original's graphite backend does the same, and a name such as `a 999 1` would otherwise write
   * a value at a timestamp of the sender's choosing.
   */
  readonly cleanNames: boolean;
  /** Encode as Graphite's pickle protocol (pickle.ts) instead of plaintext lines: the same names and values. */
  readonly pickle: boolean;
}

/**
 * A key name as it may appear in a plaintext path: returned as is when it holds only
 * `[A-Za-z0-9_.-]` (the usual case: one pass over its chars, no new string), else cleaned as the
 * original's graphite backend cleans it (whitespace runs → `_`, `/` → `-`, anything else outside the
 * set removed; `;` and `=` too, since tallyd's tags never live in the name).
 */
export function graphiteName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d)) {
      return sanitizeKey(name);
    }
  }
  return name;
}

/** Joins the non-empty parts with '.'; '' when all are empty. */
function ns(...parts: string[]): string {
  // configured parts are cleaned like key names: no prefix can put a space or a newline on the wire
  return parts
    .map(graphiteName)
    .filter((p) => p !== '')
    .join('.');
}
/** As ns(), plus a trailing '.' when not empty: a prefix to put before a key. */
function prefix(...parts: string[]): string {
  const s = ns(...parts);
  return s === '' ? '' : s + '.';
}

/** The settings that shape Graphite names: the graphite section's prefixes plus three top-level keys. */
export type GraphiteNamespaceConfig = Pick<
  GraphiteConfig,
  'legacyNamespace' | 'globalPrefix' | 'prefixCounter' | 'prefixTimer' | 'prefixGauge' | 'prefixSet' | 'globalSuffix' | 'protocol'
> &
  Pick<TallydConfig, 'prefixStats' | 'flushCounts' | 'calculatedTimerMetrics'> &
  Partial<Pick<TallydConfig, 'keyNameSanitize'>>;

export function namespaceConfigFrom(config: TallydConfig): GraphiteNamespaceConfig {
  const g = config.graphite;
  return {
    legacyNamespace: g.legacyNamespace,
    globalPrefix: g.globalPrefix,
    prefixCounter: g.prefixCounter,
    prefixTimer: g.prefixTimer,
    prefixGauge: g.prefixGauge,
    prefixSet: g.prefixSet,
    globalSuffix: g.globalSuffix,
    protocol: g.protocol,
    prefixStats: config.prefixStats,
    flushCounts: config.flushCounts,
    calculatedTimerMetrics: config.calculatedTimerMetrics,
    keyNameSanitize: config.keyNameSanitize,
  };
}

/** Computes every namespace once (at start-up). */
export function graphiteFormatOptions(c: GraphiteNamespaceConfig): GraphiteFormatOptions {
  const cleanSuffix = graphiteName(c.globalSuffix);
  const suffix = cleanSuffix === '' ? '' : '.' + cleanSuffix;
  // the daemon's own keys carry prefixStats as configured: an unclean one is cleaned on the way out too
  const cleanNames = c.keyNameSanitize === false || graphiteName(c.prefixStats) !== c.prefixStats;
  const timerFields = timerFieldFilter(c.calculatedTimerMetrics);
  if (c.legacyNamespace) {
    // The original's legacy namespace is fixed: 'stats', 'stats_counts', 'stats.timers', ...
    return {
      legacy: true,
      counterRatePrefix: 'stats.',
      counterRateField: '',
      counterCountPrefix: 'stats_counts.',
      counterCountField: '',
      timerPrefix: 'stats.timers.',
      gaugePrefix: 'stats.gauges.',
      setPrefix: 'stats.sets.',
      typeRoot: 'stats.',
      numStatsPath: ns(c.prefixStats, 'numStats'),
      internalPrefix: prefix('stats', c.prefixStats),
      graphiteStatsPrefix: prefix('stats', c.prefixStats, 'graphiteStats'),
      suffix,
      flushCounts: c.flushCounts,
      timerFields,
      cleanNames,
      pickle: c.protocol === 'pickle',
    };
  }
  const counter = prefix(c.globalPrefix, c.prefixCounter);
  return {
    legacy: false,
    counterRatePrefix: counter,
    counterRateField: '.rate',
    counterCountPrefix: counter,
    counterCountField: '.count',
    timerPrefix: prefix(c.globalPrefix, c.prefixTimer),
    gaugePrefix: prefix(c.globalPrefix, c.prefixGauge),
    setPrefix: prefix(c.globalPrefix, c.prefixSet),
    typeRoot: prefix(c.globalPrefix),
    numStatsPath: ns(c.globalPrefix, c.prefixStats, 'numStats'),
    internalPrefix: prefix(c.globalPrefix, c.prefixStats),
    graphiteStatsPrefix: prefix(c.globalPrefix, c.prefixStats, 'graphiteStats'),
    suffix,
    flushCounts: c.flushCounts,
    timerFields,
    cleanNames,
    pickle: c.protocol === 'pickle',
  };
}
