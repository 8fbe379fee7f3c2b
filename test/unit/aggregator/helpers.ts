/** Test helpers for the aggregator: a complete config with overrides, and feeding StatsD text. */
import { Aggregator, type AggregatorOptions } from '../../../src/aggregator/index.js';
import type { Snapshot, TimerStat } from '../../../src/aggregator/snapshot.js';
import { validateConfig } from '../../../src/config/index.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { MetricType, Sample } from '../../../src/parser/types.js';

/** The real defaults (src/config), so a new config key needs no edit here. */
const DEFAULTS = validateConfig({}).config;

/** The defaults, quiet and self-contained for tests (no listeners, no backends, 1 s flushes), with overrides. */
export function testConfig(over: Partial<TallydConfig> = {}): TallydConfig {
  return {
    ...DEFAULTS,
    servers: [],
    mgmtPort: 0,
    flushInterval: 1000,
    backends: [],
    console: { prettyprint: false },
    logLevel: 'silent',
    automaticConfigReload: false,
    ...over,
  };
}

export function makeAggregator(over: Partial<TallydConfig> = {}, opts: Partial<AggregatorOptions> = {}): Aggregator {
  return new Aggregator({ config: testConfig(over), ...opts });
}

const scratch = new Sample();

/** Send one datagram of StatsD text (lines separated by \n), as the listener would. */
export function send(agg: Aggregator, text: string): void {
  const buf = Buffer.from(text);
  const lines = parsePacket(buf, 0, buf.length, agg, scratch);
  agg.countPacket(lines);
}

export function counter(s: Snapshot, id: string): number | undefined {
  return s.counters.toArray().find((c) => c.key.id === id)?.count;
}
export function rate(s: Snapshot, id: string): number | undefined {
  return s.counters.toArray().find((c) => c.key.id === id)?.rate;
}
export function gauge(s: Snapshot, id: string): number | undefined {
  return s.gauges.find((g) => g.key.id === id)?.value;
}
export function setCount(s: Snapshot, id: string): number | undefined {
  return s.sets.find((g) => g.key.id === id)?.count;
}
export function timer(s: Snapshot, id: string): TimerStat | undefined {
  return s.timers.find((t) => t.key.id === id);
}
/** Percentile fields by suffix, as the original names them. */
export function pct(t: TimerStat, suffix: string) {
  return t.percentiles.find((p) => p.suffix === suffix);
}

/** Fisher-Yates with a given RNG. */
export function shuffle<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Feed timer values straight through the SampleSink (no text round trip, so any double is exact). */
export function feedTimer(agg: Aggregator, key: string, values: ArrayLike<number>): void {
  const s = new Sample();
  s.type = MetricType.Timer;
  s.buf = Buffer.from(key);
  s.keyStart = 0;
  s.keyEnd = s.buf.length;
  s.tagStart = s.tagEnd = s.keyEnd;
  for (let i = 0; i < values.length; i++) {
    s.value = values[i]!;
    agg.sample(s);
  }
}
