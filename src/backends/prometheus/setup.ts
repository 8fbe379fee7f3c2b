/**
 * From the config to the Prometheus backend's parts: the section in force, the series store's options
 * (with the mapping file read and checked), the registry's section validator, and the timer bounds a
 * process without the backend (a cluster worker) counts at ingest for it.
 */
import { readFileSync } from 'node:fs';
import type { TallydConfig } from '../../config/types.js';
import { ConfigError } from '../../errors.js';
import type { MetricKey } from '../../parser/types.js';
import type { BackendContext } from '../types.js';
import { mappingFileProblems, type PrometheusConfig, parsePrometheusSection } from './config.js';
import { Mapper, parseMapping, readMappingFile } from './mapping.js';
import { SELF_PREFIX } from './selfmetrics.js';
import { type ConflictInfo, SeriesStore, type StoreOptions } from './series.js';

/** The section in force: `config.prometheus`, read and checked with the rest of the config (src/config/validate.ts, through ./config.ts). */
export function prometheusConfigFrom(config: Pick<TallydConfig, 'prometheus'>): PrometheusConfig {
  return config.prometheus;
}

/** A raw `prometheus` section read alone (tests, benches); throws a ConfigError naming each bad key. */
export function prometheusSection(raw: unknown): PrometheusConfig {
  const { config, problems } = parsePrometheusSection(raw, false);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** What the series store is built from, and a fingerprint of it (a reload compares them). */
export interface StoreSetup {
  readonly options: StoreOptions;
  readonly key: string;
}

/**
 * The series store's options for a config; throws a ConfigError (naming the key) when the mapping
 * file is unusable. Its warnings are logged on `ctx.log`; name conflicts go to `onConflict`.
 */
export function storeSetup(ctx: BackendContext, s: PrometheusConfig, onConflict: (c: ConflictInfo) => void): StoreSetup {
  let mapper: Mapper | null = null;
  let mappingText = '';
  if (s.mappingFile !== undefined) {
    let r: ReturnType<typeof parseMapping>;
    try {
      mappingText = readFileSync(s.mappingFile, 'utf8');
      r = parseMapping(mappingText, s.mappingFile);
    } catch (err) {
      r = {
        mapping: null,
        problems: [`cannot read mapping file ${s.mappingFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`],
      };
    }
    if (r.mapping === null) throw new ConfigError(r.problems.map((p) => `config key 'prometheus.mappingFile': ${p}`));
    for (const w of r.mapping.warnings) ctx.log.warn({ mappingFile: s.mappingFile }, w);
    mapper = new Mapper(r.mapping);
  }
  const prefix = ctx.config.prefixStats;
  const skipKeys = new Set(prefix === '' ? [] : OWN_WITH_TWINS.map((k) => `${prefix}.${k}`));
  const options: StoreOptions = {
    quantiles: s.quantiles,
    buckets: s.buckets,
    observerType: s.observerType,
    ttlMs: s.ttlMs,
    mapper,
    reservedPrefix: SELF_PREFIX,
    skipKeys,
    onConflict,
  };
  const key = JSON.stringify([s.quantiles, s.buckets, s.observerType, s.ttlMs, s.mappingFile, mappingText, prefix]);
  return { options, key };
}

/**
 * The daemon's own StatsD names (under prefixStats) that are not folded as user series: each has its
 * tallyd_* twin (selfmetrics.ts), or is a flush's lateness against its schedule (timestamp_lag). The
 * dogstatsd_* counts stay user series (statsd_dogstatsd_*): they have no twin.
 */
const OWN_WITH_TWINS = [
  'bad_lines_seen',
  'packets_received',
  'metrics_received',
  'timestamp_lag',
  'keys_dropped',
  'set_members_dropped',
  'udp_receive_errors',
  'key_table_bytes',
  'tcp_connections_refused',
  'tcp_idle_timeouts',
];

/**
 * The registry's section validator: `registerBackend('prometheus', prometheusBackend, validatePrometheusSection)`.
 * The section's keys are checked with the core config (config.prometheus); this reads the mapping file it names.
 */
export function validatePrometheusSection(config: Pick<TallydConfig, 'raw'>): string[] {
  return mappingFileProblems(config.raw['prometheus']);
}

/** Timer keys remembered by {@link prometheusTimerBounds}' cache before it starts over. */
const TIMER_BOUNDS_CACHE = 1_000_000;

/**
 * The le bounds (ms) per timer key that this config's Prometheus backend counts exactly, for a
 * process without the backend (a cluster worker, see src/cluster/worker.ts): null when the config
 * has no Prometheus backend. Resolved through the same mapping; cached per key (a worker re-creates
 * its keys every interval).
 */
export function prometheusTimerBounds(config: TallydConfig): ((key: MetricKey) => Float64Array | null) | null {
  if (!config.backends.some((b) => b === 'prometheus' || b.endsWith('/prometheus'))) return null;
  const settings = prometheusConfigFrom(config);
  let mapper: Mapper | null = null;
  if (settings.mappingFile !== undefined) {
    const r = readMappingFile(settings.mappingFile);
    if (r.mapping === null) return null;
    mapper = new Mapper(r.mapping);
  }
  const store = new SeriesStore({
    quantiles: settings.quantiles,
    buckets: settings.buckets,
    observerType: settings.observerType,
    ttlMs: settings.ttlMs,
    mapper,
  });
  const cache = new Map<string, Float64Array | null>();
  return (key) => {
    let b = cache.get(key.id);
    if (b === undefined) {
      if (cache.size >= TIMER_BOUNDS_CACHE) cache.clear();
      b = store.timerBounds(key);
      cache.set(key.id, b);
    }
    return b;
  };
}
