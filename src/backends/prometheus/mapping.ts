/**
 * statsd_exporter's mapping file, read unchanged: YAML with `defaults` and `mappings`.
 *
 * Supported per mapping: `match` (glob, or regex with `match_type: regex`), `name` with `$1` / `${1}`
 * captures (regex: also named groups), `labels` (values may use captures), `match_metric_type`
 * (counter, gauge, observer), `observer_type` (summary or histogram; `timer_type` is the old
 * spelling), `buckets` / `histogram_options.buckets`, `quantiles` / `summary_options.quantiles`,
 * `ttl` (Go duration: `30s`, `10m`, `1h30m`), `action` (map or drop), `honor_labels`, `help`, `scale`.
 * As in statsd_exporter, glob mappings are tried first in file order, then regex mappings in file
 * order; the first that matches wins. Keys we accept but do not use (summary max_age, age_buckets,
 * buf_cap, glob_disable_ordering, native histogram options) are ignored; unknown keys give warnings.
 *
 * Matching runs once per distinct metric key (the series store caches the result), never per packet.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { forbiddenKeyProblems } from '../../config/safekeys.js';
import { isRecord, readObserverOptions, readObserverType, readTtl, unknownKeys } from './mapping-values.js';
import { isValidLabelName, sanitizeMetricName } from './naming.js';

// the value readers, for the config section and the tests that import them from here
export { parseDuration, readBuckets, readQuantiles } from './mapping-values.js';

export type ObserverType = 'summary' | 'histogram';
/** statsd_exporter's metric types for `match_metric_type`: timers, histograms and distributions are observers. */
export type StatsdKind = 'counter' | 'gauge' | 'observer';

export interface MappingRule {
  /** Position in the file (0-based), for messages. */
  readonly index: number;
  readonly match: string;
  readonly matchType: 'glob' | 'regex';
  readonly regex: RegExp;
  /** Name template (undefined only for `action: drop` without a name). */
  readonly name: string | undefined;
  /** Label name → value template. */
  readonly labels: readonly (readonly [string, string])[];
  readonly matchMetricType: StatsdKind | undefined;
  readonly observerType: ObserverType | undefined;
  readonly buckets: readonly number[] | undefined;
  readonly quantiles: readonly number[] | undefined;
  /** ms; undefined: the defaults' or the backend's TTL. 0: never expire. */
  readonly ttlMs: number | undefined;
  readonly action: 'map' | 'drop';
  /** true: the metric's own tags win over this mapping's labels of the same name. */
  readonly honorLabels: boolean;
  readonly help: string | undefined;
  /** Extra factor applied to observed values (after ms → s). */
  readonly scale: number | undefined;
}

export interface MappingDefaults {
  readonly observerType: ObserverType | undefined;
  readonly matchType: 'glob' | 'regex';
  readonly buckets: readonly number[] | undefined;
  readonly quantiles: readonly number[] | undefined;
  readonly ttlMs: number | undefined;
}

export interface MappingConfig {
  readonly defaults: MappingDefaults;
  /** Glob rules first (file order), then regex rules (file order): the order they are tried in. */
  readonly rules: readonly MappingRule[];
  /** Unknown keys and other things that do not stop loading. */
  readonly warnings: readonly string[];
}

export interface MapResult {
  readonly rule: MappingRule;
  /** The Prometheus name (captures expanded, sanitised); undefined for a drop. */
  readonly name: string | undefined;
  /** Expanded mapping labels, sorted by name. */
  readonly labels: readonly (readonly [string, string])[];
}

const DEFAULTS_KEYS = new Set([
  'observer_type',
  'timer_type',
  'buckets',
  'quantiles',
  'match_type',
  'glob_disable_ordering',
  'ttl',
  'summary_options',
  'histogram_options',
]);
const MAPPING_KEYS = new Set([
  'match',
  'name',
  'labels',
  'observer_type',
  'timer_type',
  'buckets',
  'quantiles',
  'match_type',
  'help',
  'action',
  'match_metric_type',
  'ttl',
  'summary_options',
  'histogram_options',
  'scale',
  'honor_labels',
]);
/** statsd_exporter's check on a mapping's `name`: a valid name where `$1`/`${1}` may stand for parts. */
const NAME_TEMPLATE_RE = /^([a-zA-Z_]|\$\{?\w+\}?)([a-zA-Z0-9_]|\$\{?\w+\}?)*$/;

/** A glob (`*` matches within one dot-separated part) → an anchored RegExp with one group per `*`. */
export function globToRegExp(glob: string): RegExp {
  let src = '^';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') src += '([^.]*)';
    else src += ch.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(src + '$');
}

/** Go's `(?P<name>…)` named groups → JavaScript's `(?<name>…)`. */
function goRegexToJs(src: string): string {
  return src.replace(/\(\?P</g, '(?<');
}

/**
 * Expand `$1`, `${1}` (and, for regex rules, `$name` / `${name}` as Go's Regexp.Expand does:
 * `$1x` means the group named `1x`, which is empty). Unknown groups expand to ''.
 */
export function expandTemplate(template: string, m: RegExpExecArray, goStyle: boolean): string {
  if (template.indexOf('$') < 0) return template;
  const re = goStyle ? /\$(?:\{(\w+)\}|(\w+))|\$\$/g : /\$(?:\{(\d+)\}|(\d+))/g;
  return template.replace(re, (all: string, braced: string | undefined, bare: string | undefined) => {
    if (all === '$$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

/** Parse mapping YAML text. Never throws: problems (fatal) and warnings are returned. */
export function parseMapping(text: string, source = 'mapping file'): { mapping: MappingConfig | null; problems: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return { mapping: null, problems: [`${source}: invalid YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isRecord(doc)) return { mapping: null, problems: [`${source}: expected a map with 'mappings' and 'defaults'`] };
  // no `__proto__`/`constructor`/`prototype` keys at any depth (they could reach an object's prototype)
  const forbidden = forbiddenKeyProblems(doc, `${source}: key`);
  if (forbidden.length > 0) return { mapping: null, problems: forbidden };
  unknownKeys(doc, new Set(['mappings', 'defaults']), source, warnings);

  const rawDefaults = doc['defaults'] ?? {};
  let defaults: MappingDefaults = {
    observerType: undefined,
    matchType: 'glob',
    buckets: undefined,
    quantiles: undefined,
    ttlMs: undefined,
  };
  if (!isRecord(rawDefaults)) problems.push(`${source}: defaults: expected a map`);
  else {
    const w = `${source}: defaults`;
    unknownKeys(rawDefaults, DEFAULTS_KEYS, w, warnings);
    const mt = rawDefaults['match_type'];
    if (mt !== undefined && mt !== null && mt !== '' && mt !== 'glob' && mt !== 'regex')
      problems.push(`${w}.match_type: expected 'glob' or 'regex'`);
    const opts = readObserverOptions(rawDefaults, w, problems, warnings);
    defaults = {
      observerType: readObserverType(rawDefaults['observer_type'] ?? rawDefaults['timer_type'], `${w}.observer_type`, problems),
      matchType: mt === 'regex' ? 'regex' : 'glob',
      buckets: opts.buckets,
      quantiles: opts.quantiles,
      ttlMs: readTtl(rawDefaults['ttl'], `${w}.ttl`, problems),
    };
  }

  const rawMappings = doc['mappings'] ?? [];
  const globs: MappingRule[] = [];
  const regexes: MappingRule[] = [];
  if (!Array.isArray(rawMappings)) problems.push(`${source}: mappings: expected a list`);
  else {
    rawMappings.forEach((raw: unknown, index: number) => {
      const w = `${source}: mappings[${index}]`;
      if (!isRecord(raw)) {
        problems.push(`${w}: expected a map`);
        return;
      }
      unknownKeys(raw, MAPPING_KEYS, w, warnings);
      const match = raw['match'];
      if (typeof match !== 'string' || match === '') {
        problems.push(`${w}.match: expected a string`);
        return;
      }
      const mtRaw = raw['match_type'];
      if (mtRaw !== undefined && mtRaw !== null && mtRaw !== '' && mtRaw !== 'glob' && mtRaw !== 'regex') {
        problems.push(`${w}.match_type: expected 'glob' or 'regex'`);
        return;
      }
      const matchType: 'glob' | 'regex' = mtRaw === 'glob' || mtRaw === 'regex' ? mtRaw : defaults.matchType;
      let regex: RegExp;
      try {
        regex = matchType === 'glob' ? globToRegExp(match) : new RegExp(goRegexToJs(match));
      } catch (err) {
        problems.push(`${w}.match: invalid regex ${JSON.stringify(match)}: ${(err as Error).message}`);
        return;
      }
      const actionRaw = raw['action'] ?? 'map';
      if (actionRaw !== 'map' && actionRaw !== 'drop') {
        problems.push(`${w}.action: expected 'map' or 'drop'`);
        return;
      }
      const name = raw['name'];
      if (name !== undefined && name !== null && typeof name !== 'string') problems.push(`${w}.name: expected a string`);
      if (actionRaw === 'map') {
        if (typeof name !== 'string' || name === '') problems.push(`${w}: metric mapping didn't set a metric name`);
        else if (!NAME_TEMPLATE_RE.test(name)) problems.push(`${w}.name: '${name}' is not a valid metric name (captures like $1 allowed)`);
      }
      const labels: [string, string][] = [];
      const rawLabels = raw['labels'];
      if (rawLabels !== undefined && rawLabels !== null) {
        if (!isRecord(rawLabels)) problems.push(`${w}.labels: expected a map`);
        else {
          for (const [k, v] of Object.entries(rawLabels)) {
            if (!isValidLabelName(k)) problems.push(`${w}.labels: invalid label name '${k}'`);
            else labels.push([k, v === null || v === undefined ? '' : String(v)]);
          }
        }
      }
      labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const mmt = raw['match_metric_type'];
      let matchMetricType: StatsdKind | undefined;
      if (mmt === 'counter' || mmt === 'gauge' || mmt === 'observer') matchMetricType = mmt;
      else if (mmt === 'timer' || mmt === 'histogram' || mmt === 'distribution') matchMetricType = 'observer';
      else if (mmt !== undefined && mmt !== null && mmt !== '')
        problems.push(`${w}.match_metric_type: expected counter, gauge or observer`);
      const observerType = readObserverType(raw['observer_type'] ?? raw['timer_type'], `${w}.observer_type`, problems);
      const opts = readObserverOptions(raw, w, problems, warnings);
      const effObserver = observerType ?? defaults.observerType ?? 'summary';
      if (effObserver === 'histogram' && raw['summary_options'] != null)
        problems.push(`${w}: cannot use a histogram observer with summary_options`);
      if (effObserver === 'summary' && raw['histogram_options'] != null)
        problems.push(`${w}: cannot use a summary observer with histogram_options`);
      const honor = raw['honor_labels'];
      if (honor !== undefined && honor !== null && typeof honor !== 'boolean') problems.push(`${w}.honor_labels: expected true or false`);
      const scale = raw['scale'];
      if (scale !== undefined && scale !== null && (typeof scale !== 'number' || !Number.isFinite(scale)))
        problems.push(`${w}.scale: expected a number`);
      const help = raw['help'];
      const rule: MappingRule = {
        index,
        match,
        matchType,
        regex,
        name: typeof name === 'string' && name !== '' ? name : undefined,
        labels,
        matchMetricType,
        observerType,
        buckets: opts.buckets,
        quantiles: opts.quantiles,
        ttlMs: readTtl(raw['ttl'], `${w}.ttl`, problems),
        action: actionRaw,
        honorLabels: honor === true,
        help: typeof help === 'string' && help !== '' ? help : undefined,
        scale: typeof scale === 'number' ? scale : undefined,
      };
      (matchType === 'glob' ? globs : regexes).push(rule);
    });
  }
  if (problems.length > 0) return { mapping: null, problems };
  return { mapping: { defaults, rules: [...globs, ...regexes], warnings }, problems };
}

/** Read and parse a mapping file; problems (unreadable, invalid) are returned, never thrown. */
export function readMappingFile(path: string): { mapping: MappingConfig | null; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return {
      mapping: null,
      problems: [`cannot read mapping file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`],
    };
  }
  return parseMapping(text, path);
}

/** Finds the mapping for a statsd metric name. */
export class Mapper {
  constructor(readonly config: MappingConfig) {}

  /** The first rule matching `name` for this kind, with expanded name and labels; null when none matches. */
  map(name: string, kind: StatsdKind): MapResult | null {
    const rules = this.config.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.matchMetricType !== undefined && rule.matchMetricType !== kind) continue;
      rule.regex.lastIndex = 0;
      const m = rule.regex.exec(name);
      if (!m) continue;
      const goStyle = rule.matchType === 'regex';
      const labels = rule.labels.map(([k, v]) => [k, expandTemplate(v, m, goStyle)] as const);
      return {
        rule,
        name: rule.name === undefined ? undefined : sanitizeMetricName(expandTemplate(rule.name, m, goStyle)),
        labels,
      };
    }
    return null;
  }
}
