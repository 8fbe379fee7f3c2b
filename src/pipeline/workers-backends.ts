/**
 * Backends that run in the workers (BackendCapabilities.wantsPackets: the repeater), as the primary
 * shows them: their status lines summed over the workers. Used by ./ingest-workers.ts.
 */
import type { Backend, StatusLine } from '../backends/types.js';

export type StatusGroups = Array<{ name: string; lines: StatusLine[] }>;

/**
 * Status groups of several processes' instances of one backend as one: numbers added up (`last_*`
 * times: the latest), other values as the first process shows them.
 */
export function sumStatusGroups(reports: readonly StatusGroups[]): StatusGroups {
  const out: StatusGroups = [];
  for (const groups of reports) {
    for (const g of groups) {
      let into = out.find((o) => o.name === g.name);
      if (into === undefined) {
        into = { name: g.name, lines: [] };
        out.push(into);
      }
      for (const [stat, value] of g.lines) {
        const i = into.lines.findIndex(([s]) => s === stat);
        if (i < 0) into.lines.push([stat, value]);
        else {
          const prev = into.lines[i]![1];
          if (typeof prev === 'number' && typeof value === 'number')
            into.lines[i] = [stat, stat.startsWith('last_') ? Math.max(prev, value) : prev + value];
        }
      }
    }
  }
  return out;
}

/** A backend that runs in the workers, as the primary shows it: no flushes, the workers' status lines added up. */
export class WorkersBackendView implements Backend {
  constructor(
    readonly name: string,
    private readonly groups: () => StatusGroups[],
  ) {}
  async start(): Promise<void> {}
  async flush(): Promise<void> {}
  status(): StatusLine[] {
    return this.statusGroups().find((g) => g.name === this.name)?.lines ?? [];
  }
  statusGroups(): StatusGroups {
    const all = sumStatusGroups(this.groups());
    return all.length > 0 ? all : [{ name: this.name, lines: [] }];
  }
  async stop(): Promise<void> {}
}
