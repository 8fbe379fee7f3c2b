/**
 * Types shared by the byte parser (src/parser) and the aggregator (src/aggregator).
 *
 * The parser never allocates per line: it fills one reusable {@link Sample} with byte offsets
 * into the received packet and hands it to a {@link SampleSink}. The sink (the aggregator)
 * interns the raw key bytes and updates typed-array storage.
 */

/** Metric types, as small integers so they can index arrays and be hashed with key bytes. */
export const MetricType = { Counter: 0, Timer: 1, Gauge: 2, Set: 3 } as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];
export const METRIC_TYPE_NAMES = ['counter', 'timer', 'gauge', 'set'] as const;

/** Why a line (or one `value|type` part of it) was refused. Index into BAD_LINE_REASONS. */
export const BadLine = {
  NoType: 0, // no `|type`, or no `:value` at all
  BadValue: 1, // value is not a number (c, ms, h, d, g)
  NotFinite: 2, // NaN, Infinity, 1e400
  NegativeTimer: 3, // ms/h/d below zero
  BadSampleRate: 4, // `@` not followed by a positive finite number (so `@0` too)
  UnknownType: 5, // a type other than c, ms, h, d, g, s
  EmptyKey: 6, // nothing before the `:`, or a name that is empty once tags are split off and it is sanitised
  BadField: 7, // a `|field` after the type that is none of `@rate`, `#tags`, `T<digits>`, `name:value` (an empty one too)
  TooLong: 8, // a TCP line over the configured maximum length
  KeyTooLong: 9, // a key (raw key + DogStatsD tags) or a set member over maxKeyLength (checked by the aggregator)
  InternalError: 10, // a line whose processing threw (a fault in tallyd: logged, counted, the packet's other lines kept)
  LowSampleRate: 11, // `@rate` below MIN_SAMPLE_RATE
  BadEvent: 12, // a DogStatsD event `_e{title_len,text_len}:title|text` whose header or lengths do not match the line
  BadEventField: 13, // an event field that is not valid: `d:` not an integer, `p:` not normal|low, `t:` not error|warning|info|success, an empty field
  BadServiceCheck: 14, // a DogStatsD service check `_sc|name|status` with an empty name or a status other than 0-3
  BadServiceCheckField: 15, // a service check field that is not valid: `d:` not an integer, an empty field, one that is not `x:` or `#`
} as const;
export type BadLine = (typeof BadLine)[keyof typeof BadLine];
export const BAD_LINE_REASONS = [
  'no_type',
  'bad_value',
  'not_finite',
  'negative_timer',
  'bad_sample_rate',
  'unknown_type',
  'empty_key',
  'bad_field',
  'too_long',
  'key_too_long',
  'internal_error',
  'sample_rate_too_low',
  'bad_event',
  'bad_event_field',
  'bad_service_check',
  'bad_service_check_field',
] as const;

/**
 * What the parser counts besides samples and bad lines (DogStatsD): index into {@link DOG_COUNT_NAMES},
 * the self-metrics `<prefixStats>.<name>`. Fields are counted per `value|type` part that carries them.
 */
export const DogCount = {
  ContainerId: 0, // `|c:<id>` (v1.2/v1.4 container id, "local data")
  Timestamp: 1, // `|T<unix seconds>` (v1.3): accepted, the value goes into the current interval
  ExternalData: 2, // `|e:<data>` (v1.5)
  Cardinality: 3, // `|card:<low|orchestrator|high|none>` (v1.6)
  UnknownField: 4, // any other `|name:…` field (skipped, never part of a name or tag)
  Event: 5, // a well-formed event `_e{…}`
  ServiceCheck: 6, // a well-formed service check `_sc|…`
} as const;
export type DogCount = (typeof DogCount)[keyof typeof DogCount];
export const DOG_COUNT_NAMES = [
  'dogstatsd_container_ids',
  'dogstatsd_timestamps',
  'dogstatsd_external_data',
  'dogstatsd_cardinality',
  'dogstatsd_unknown_fields',
  'dogstatsd_events',
  'dogstatsd_service_checks',
] as const;

/**
 * The smallest `@rate` accepted. A counter line adds `value / rate`: with rates down to 5e-324 one line
 * could add ±Infinity (`x:1|c|@1e-320`); below this a line is refused (`sample_rate_too_low`). 1e-6
 * (one line in a million) is far below what clients send, and keeps `1 / rate` at most 1e6.
 */
export const MIN_SAMPLE_RATE = 1e-6;

/**
 * One parsed `key:value|type[|@rate][|#tags]` part, as offsets into `buf`.
 * A single instance is reused for every line of every packet: consumers must copy what they keep.
 */
export class Sample {
  type: MetricType = MetricType.Counter;
  /** The packet the offsets point into. */
  buf: Buffer = Buffer.alloc(0);
  /** Raw key bytes: everything before the first `:` (Influx/Librato/SignalFX tag syntax included). */
  keyStart = 0;
  keyEnd = 0;
  /** DogStatsD tag bytes after `|#` (exclusive of the `#`); tagStart === tagEnd when there are none. */
  tagStart = 0;
  tagEnd = 0;
  /** Numeric value for counters, timers and gauges (already validated finite). */
  value = 0;
  /** Sample rate from `|@rate` (1 when absent); always > 0. */
  sampleRate = 1;
  /** For gauges: the value had a leading `+` or `-` (a delta when the gauge exists and is not 0). */
  gaugeDelta = false;
  /** For sets: the member bytes. */
  memberStart = 0;
  memberEnd = 0;
  /**
   * When `keyHashed`: `hashRawKey` (src/parser/keyhash.ts) of the key and tag bytes, computed by the scanner in the
   * passes that find the key's end and the tags' end, so the aggregator's key table does not read them once more
   * to hash them. Untagged: `hashKeyBytes` of `buf[keyStart, keyEnd)`.
   * A sample built by hand leaves `keyHashed` false (the consumer hashes the bytes itself).
   */
  keyHash = 0;
  keyHashed = false;
  /**
   * Set once by the owner (config `dogstatsdContainerIdTag`), read by the scanner: a `|c:<id>` field
   * joins the tag bytes (tagStart/tagEnd then span the `#tags` and `|c:` fields, `|`-separated; see
   * canonicalKey), so the container id becomes the tag `container_id`. Off: the field is skipped.
   */
  containerIdTag = false;
}

/** Receives what the parser finds. Both methods are called on the hot path. */
export interface SampleSink {
  /** One valid sample. `s` is reused after this returns. */
  sample(s: Sample): void;
  /** One refused line or part; lineStart/lineEnd delimit the whole line in `buf` (for rate-limited logs). */
  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void;
  /** A DogStatsD field, event or service check seen (never called for lines without them). */
  dogCount(what: DogCount): void;
}

/** A tag after canonicalisation: [name, value]; value may be '' for a bare DogStatsD tag. */
export type Tag = readonly [string, string];

/** The canonical identity of a metric within its type, computed once per distinct raw key. */
export interface MetricKey {
  /** Sanitised metric name without tags, e.g. `api.requests`. */
  readonly name: string;
  /** Tags sorted by name, from any dialect: names sanitised, values as sent (Prometheus shows them verbatim). */
  readonly tags: readonly Tag[];
  /** Graphite tag suffix `;k=v;k2=v2` (sorted; values sanitised, a value sanitised to '' left out), or '' when untagged. */
  readonly graphiteTags: string;
  /** `name + graphiteTags`: the identity of the series within its type. */
  readonly id: string;
}
