/**
 * The key limit: how many keys (maxKeys) and how many bytes of key names (keyTableBytes) the
 * aggregator holds, how long a key may be (maxKeyLength), and what was refused past them: a line for
 * a new key past the limit is dropped and counted (keys_dropped), and its key's prefix is noted for
 * the warning the daemon logs at each flush.
 */
import type { MetricKey } from '../parser/types.js';
import type { AggregatorSettings } from './settings.js';

/** Distinct key prefixes remembered per interval for the maxKeys warning (bounds its memory). */
const DROPPED_PREFIX_LIMIT = 10_000;
/** A remembered prefix's longest length (a 10 KB key without dots is not kept whole, 10,000 times). */
const DROPPED_PREFIX_CHARS = 100;

/** What {@link KeyLimit.take} reports. */
export interface DroppedKeys {
  dropped: number;
  forBytes: number;
  total: number;
  maxKeys: number;
  keyTableBytes: number;
  topPrefixes: Array<[string, number]>;
}

export class KeyLimit {
  maxKeys = 0;
  maxKeyLength = 0;
  keyTableBytes = 0;
  /** Lines for new keys dropped since start (merged workers' included). */
  droppedTotal = 0;
  private dropped = 0;
  /** Of `dropped`: refused because keyTableBytes was reached (the rest: maxKeys). */
  private forBytes = 0;
  /** Top-two-component prefix → dropped lines this interval (bounded: DROPPED_PREFIX_LIMIT entries). */
  private prefixes = new Map<string, number>();

  configure(s: AggregatorSettings): void {
    this.maxKeys = s.maxKeys;
    this.maxKeyLength = s.maxKeyLength;
    this.keyTableBytes = s.keyTableBytes;
  }

  /** A line for a new key past maxKeys (or, `forBytes`, past keyTableBytes): counted, its prefix noted. */
  drop(key: MetricKey, forBytes: boolean): void {
    this.dropped++;
    this.droppedTotal++;
    if (forBytes) this.forBytes++;
    const name = key.name;
    const d1 = name.indexOf('.');
    const d2 = d1 < 0 ? -1 : name.indexOf('.', d1 + 1);
    const end = d2 < 0 ? name.length : d2;
    const prefix = name.slice(0, Math.min(end, DROPPED_PREFIX_CHARS));
    const m = this.prefixes;
    const n = m.get(prefix);
    if (n !== undefined) m.set(prefix, n + 1);
    // (a copy: a slice would keep the whole dropped name alive)
    else if (m.size < DROPPED_PREFIX_LIMIT) m.set(Buffer.from(prefix, 'utf8').toString('utf8'), 1);
  }

  /** The lines dropped since the last call, with the top 5 prefixes among them; null when none were. Resets. */
  take(): DroppedKeys | null {
    if (this.dropped === 0) return null;
    const top = [...this.prefixes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const out = {
      dropped: this.dropped,
      forBytes: this.forBytes,
      total: this.droppedTotal,
      maxKeys: this.maxKeys,
      keyTableBytes: this.keyTableBytes,
      topPrefixes: top,
    };
    this.dropped = 0;
    this.forBytes = 0;
    this.prefixes = new Map();
    return out;
  }
}
