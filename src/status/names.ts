/**
 * What the status page calls a metric type and a key: the type's name (the core four by their
 * singular, a registered type by its store's name) and the names a key flushes under, Graphite's as
 * the formatter writes them with this config and Prometheus' by default naming.
 */
import { type GraphiteFormatOptions, graphiteFormatOptions, graphiteName, namespaceConfigFrom } from '../backends/graphite/format.js';
import { GRAPHITE_TYPES } from '../backends/graphite/other-types.js';
import { labelBody, sanitizeLabelName, sanitizeMetricName } from '../backends/prometheus/naming.js';
import type { TallydConfig } from '../config/types.js';
import { type MetricKey, MetricType } from '../parser/types.js';
import type { StatusHost } from './collector.js';

const CORE_TYPE_NAMES: readonly string[] = ['counter', 'timer', 'gauge', 'set'];
/** A metric type on the page and in its API: the core four by their singular, a registered type by its store's name. */
export type TypeName = string;

export class KeyNames {
  private names: { config: TallydConfig; graphite: GraphiteFormatOptions } | null = null;

  constructor(private readonly host: Pick<StatusHost, 'aggregator' | 'config'>) {}

  /** The name of a metric type (see {@link TypeName}). */
  typeName(type: number): TypeName {
    return CORE_TYPE_NAMES[type] ?? this.host.aggregator.storeName(type) ?? String(type);
  }

  /** The metric type of a name (see {@link TypeName}), -1 for none. */
  typeOf(name: string): number {
    const core = CORE_TYPE_NAMES.indexOf(name);
    if (core >= 0) return core;
    for (let t = CORE_TYPE_NAMES.length; ; t++) {
      const n = this.host.aggregator.storeName(t);
      if (n === undefined) return -1;
      if (n === name) return t;
    }
  }

  /** The Graphite paths a key flushes under (with this config), and its Prometheus series by default naming. */
  outputNames(type: MetricType, key: MetricKey): { graphite: string[]; prometheus: string } {
    const config = this.host.config();
    if (this.names === null || this.names.config !== config)
      this.names = { config, graphite: graphiteFormatOptions(namespaceConfigFrom(config)) };
    const o = this.names.graphite;
    const tail = o.suffix + key.graphiteTags;
    // (the name as the formatter writes it: cleaned where the config lets unclean names through)
    const name = o.cleanNames ? graphiteName(key.name) : key.name;
    let graphite: string[];
    if (type === MetricType.Counter) {
      graphite = [o.counterRatePrefix + name + o.counterRateField + tail];
      if (o.flushCounts) graphite.push(o.counterCountPrefix + name + o.counterCountField + tail);
    } else if (type === MetricType.Timer) {
      graphite = ['mean', 'upper', 'count'].map((f) => o.timerPrefix + name + '.' + f + tail);
    } else if (type === MetricType.Gauge) {
      graphite = [o.gaugePrefix + name + tail];
    } else if (type === MetricType.Set) {
      graphite = [o.setPrefix + name + '.count' + tail];
    } else {
      // a registered type: its lines' path before the fields it writes (none where Graphite has no writer for it)
      const store = this.host.aggregator.storeName(type);
      const t = GRAPHITE_TYPES.find((g) => g.store === store);
      graphite = t === undefined ? [] : [o.typeRoot + graphiteName(t.part) + '.' + name + tail];
    }
    const labels = key.tags.filter(([, v]) => v !== '').map(([k, v]) => [sanitizeLabelName(k), v] as [string, string]);
    labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const body = labelBody(labels);
    const prometheus = sanitizeMetricName(key.name) + (body === '' ? '' : '{' + body + '}');
    return { graphite, prometheus };
  }
}
