/**
 * Graphite lines for metric types beyond the core four. A type's module (its store registered with
 * src/aggregator/stores.ts registerMetricStore) says here how each of its captured stats, the
 * snapshot's `others` under the store's name, becomes lines:
 *
 *   registerGraphiteType<MaxStat>('max', (m, out) => out.line(m.key, '', m.max));
 *
 * The formatter (format.ts) writes them after the sets and before numStats, type by type in
 * registration order and each type's stats in capture order, in the same slices as the core types;
 * they count in numStats, and go out as plaintext or pickle as every other line. Names are built as
 * the core types' are (names.ts): `stats.<part>.KEY` in the legacy namespace, `[globalPrefix].<part>.KEY`
 * in the new one, then the field, globalSuffix and the key's Graphite tags, the key name cleaned.
 * With no type registered, the formatter's extra phase is one empty check per flush.
 */
import { saturate } from '../../aggregator/finite.js';
import type { MetricKey } from '../../parser/types.js';
import type { LineText } from './line-out.js';
import { type GraphiteFormatOptions, graphiteName } from './names.js';

/** Writes one captured stat's lines through `out` (one or more {@link GraphiteTypeLines.line} calls). */
export type GraphiteStatWriter<T> = (stat: T, out: GraphiteTypeLines) => void;

export interface GraphiteType {
  /** The store's name: the key of its stats in the snapshot's `others`. */
  readonly store: string;
  /** The path part after the namespace (`stats.<part>.KEY`); the store's name unless given. */
  readonly part: string;
  readonly write: GraphiteStatWriter<unknown>;
  /** Formatting work per stat, in counter lines (the slices read the clock every 256 units; a timer is 8). */
  readonly units: number;
}

const registered: GraphiteType[] = [];
/** The registered types, in registration order (read by the formatter). */
export const GRAPHITE_TYPES: readonly GraphiteType[] = registered;

/**
 * Registers how the stats of the store named `store` become Graphite lines. `opts.part`: the path part
 * (default `store`); `opts.units`: work per stat for the slices (default 1). Returns a function that
 * removes the registration again (tests). Throws for a store already registered.
 */
export function registerGraphiteType<T>(
  store: string,
  write: GraphiteStatWriter<T>,
  opts: { readonly part?: string; readonly units?: number } = {},
): () => void {
  if (registered.some((t) => t.store === store)) throw new RangeError(`graphite type '${store}' is already registered`);
  const part = opts.part ?? store;
  if (graphiteName(part) === '') throw new RangeError(`graphite type '${store}': path part '${part}' is empty once cleaned`);
  const t: GraphiteType = { store, part, write: write as GraphiteStatWriter<unknown>, units: Math.max(1, opts.units ?? 1) };
  registered.push(t);
  return () => {
    const i = registered.indexOf(t);
    if (i >= 0) registered.splice(i, 1);
  };
}

/** Where a {@link GraphiteStatWriter} writes: one per type per flush, appending to the formatter's lines. */
export class GraphiteTypeLines {
  /** The path before KEY: `stats.<part>.` (legacy) or `[globalPrefix.]<part>.`. */
  readonly prefix: string;
  constructor(
    private readonly acc: LineText,
    private readonly o: GraphiteFormatOptions,
    part: string,
    private readonly tsNl: string,
  ) {
    this.prefix = o.typeRoot + graphiteName(part) + '.';
  }

  /**
   * One line: `PREFIX KEY FIELD [.globalSuffix] [;tags] value timestamp`. `field`: '' or a path end such
   * as '.count', a constant of the type's module (written as given: the key name is what gets cleaned).
   * A value that is not finite is written saturated (aggregator/finite.ts).
   */
  line(key: MetricKey, field: string, value: number): void {
    const o = this.o;
    const v = value - value === 0 ? value : saturate(value);
    this.acc.s +=
      this.prefix + (o.cleanNames ? graphiteName(key.name) : key.name) + field + o.suffix + key.graphiteTags + ' ' + v + this.tsNl;
    this.acc.lines++;
  }
}
