/**
 * Lines per key, per type: for keyFlush (the original's key hit counts) and for the status page's
 * busiest keys. The aggregator counts them on the hot path (one null check per line while off) in
 * arrays indexed by type and slot; these functions grow and read them.
 */
import type { MetricKey } from '../parser/types.js';
import type { SlotIndex } from './stores/slots.js';

/** Hit arrays for `indexes` (at least `min` slots each). */
export function newHits(indexes: readonly SlotIndex[], min: number): Float64Array[] {
  return indexes.map((idx) => new Float64Array(Math.max(min, idx.capacity)));
}

/** Make room for `slot` of `type` (a slot bound on the slow path). */
export function growHits(hits: Float64Array[], type: number, slot: number): void {
  const h = hits[type]!;
  if (slot < h.length) return;
  const grown = new Float64Array(Math.max(slot + 1, h.length * 2));
  grown.set(h);
  hits[type] = grown;
}

/** keyFlush: lines per key id (types with one name added up), most frequent first; resets the counts. */
export function takeKeyHits(hits: Float64Array[], indexes: readonly SlotIndex[]): Array<[string, number]> {
  const byName = new Map<string, number>();
  for (let type = 0; type < hits.length; type++) {
    const h = hits[type]!;
    const idx = indexes[type]!;
    for (let s = idx.head; s >= 0; s = idx.next[s]!) {
      const n = h[s]!;
      if (n > 0) {
        const id = idx.keys[s]!.id;
        byName.set(id, (byName.get(id) ?? 0) + n);
      }
    }
    h.fill(0);
  }
  return [...byName.entries()].sort((a, b) => b[1] - a[1]);
}

/** The status page: the `limit` busiest keys (busiest first) and lines per type; resets the counts. */
export function takeStatusHits<T extends number>(
  hits: Float64Array[],
  indexes: readonly SlotIndex[],
  limit: number,
): { top: Array<{ type: T; id: string; lines: number }>; byType: number[] } {
  const top: Array<{ type: T; id: string; lines: number }> = [];
  const byType = hits.map(() => 0);
  let floor = 0;
  for (let type = 0; type < hits.length; type++) {
    const h = hits[type]!;
    const idx = indexes[type]!;
    for (let s = idx.head; s >= 0; s = idx.next[s]!) {
      const n = h[s]!;
      if (n === 0) continue;
      byType[type] = byType[type]! + n;
      if (top.length < limit || n > floor) {
        top.push({ type: type as T, id: (idx.keys[s] as MetricKey).id, lines: n });
        if (top.length > limit * 4) {
          top.sort((a, b) => b.lines - a.lines);
          top.length = limit;
          floor = top[limit - 1]!.lines;
        }
      }
    }
    h.fill(0);
  }
  top.sort((a, b) => b.lines - a.lines);
  if (top.length > limit) top.length = limit;
  return { top, byType };
}

/**
 * Workers mode, worker side: every counted key's lines (`visit(type, key, lines)`), then resets the
 * counts. Sent in the worker's partial; the primary adds them to its own hits ({@link addHits}).
 */
export function exportHits(
  hits: Float64Array[],
  indexes: readonly SlotIndex[],
  visit: (type: number, key: MetricKey, lines: number) => void,
): void {
  for (let type = 0; type < hits.length; type++) {
    const h = hits[type]!;
    const idx = indexes[type]!;
    for (let s = idx.head; s >= 0; s = idx.next[s]!) {
      const n = h[s]!;
      if (n > 0) visit(type, idx.keys[s] as MetricKey, n);
    }
    h.fill(0);
  }
}

/** Workers mode, primary side: a worker's `lines` for the live `slot` of `type`. */
export function addHits(hits: Float64Array[], type: number, slot: number, lines: number): void {
  if (type >= hits.length) return;
  growHits(hits, type, slot);
  hits[type]![slot]! += lines;
}

/** Lines per key a worker counted for the status page (Aggregator.takeWorkerHits). */
export interface WorkerHits {
  types: number[];
  keys: MetricKey[];
  lines: number[];
}

/** Hand a worker's hits to a partial (after the interval's data, whose keys they name). */
export function replayStatusHits(h: WorkerHits, out: { hits?(type: number, key: MetricKey, lines: number): void }): void {
  if (out.hits === undefined) return;
  for (let i = 0; i < h.types.length; i++) out.hits(h.types[i]!, h.keys[i]!, h.lines[i]!);
}
