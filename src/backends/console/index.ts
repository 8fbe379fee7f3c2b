/**
 * The console backend (the original's backends/console.js): at each flush, a "Flushing stats at
 * <date>" line, then one JSON object { counters, timers, gauges, timer_data, counter_rates, sets,
 * pctThreshold } on STDOUT (indented when console.prettyprint is set, else on one line).
 *
 * Differences from the original: the output is JSON (the original printed util.inspect), timers are
 * the reservoir sample (every value unless the reservoir overflowed), and `sets` maps each key to its
 * number of unique members (the snapshot carries counts, not members).
 */
import fastJson from 'fast-json-stringify';
import type { Snapshot } from '../../aggregator/snapshot.js';
import { errorText } from '../error-text.js';
import { type TimerFieldFilter, timerDataObject, timerFieldFilter } from '../timer-fields.js';
import type { Backend, BackendContext, BackendState, StatusLine } from '../types.js';

const numberMap = { type: 'object', additionalProperties: { type: 'number' } } as const;

/**
 * The one-line JSON, by fast-json-stringify (each timer_data's `histogram` first, as the output has
 * always been). Not for speed: on a 245,000-key flush it takes about twice JSON.stringify's time (row 4
 * of `node dist/bench/flush-format.bench.js`).
 */
export const stringifyFlat = fastJson({
  type: 'object',
  properties: {
    counters: numberMap,
    timers: { type: 'object', additionalProperties: { type: 'array', items: { type: 'number' } } },
    gauges: numberMap,
    timer_data: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { histogram: numberMap },
        additionalProperties: { type: 'number' },
      },
    },
    counter_rates: numberMap,
    sets: numberMap,
    pctThreshold: { type: 'array', items: { type: 'number' } },
  },
});

export interface ConsoleOutput {
  counters: Record<string, number>;
  timers: Record<string, number[]>;
  gauges: Record<string, number>;
  timer_data: Record<string, Record<string, number | Record<string, number>>>;
  counter_rates: Record<string, number>;
  sets: Record<string, number>;
  pctThreshold: number[];
}

/** The object printed for one flush (keys are MetricKey.id). */
export function consoleObject(snapshot: Snapshot, pctThreshold: readonly number[], filter: TimerFieldFilter): ConsoleOutput {
  const out: ConsoleOutput = {
    counters: {},
    timers: {},
    gauges: {},
    timer_data: {},
    counter_rates: {},
    sets: {},
    pctThreshold: [...pctThreshold],
  };
  for (const c of snapshot.counters) {
    out.counters[c.key.id] = c.count;
    out.counter_rates[c.key.id] = c.rate;
  }
  for (const t of snapshot.timers) {
    out.timers[t.key.id] = Array.from(t.samples);
    out.timer_data[t.key.id] = timerDataObject(t, filter);
  }
  for (const g of snapshot.gauges) out.gauges[g.key.id] = g.value;
  for (const s of snapshot.sets) out.sets[s.key.id] = s.count;
  return out;
}

export function formatConsole(snapshot: Snapshot, pctThreshold: readonly number[], filter: TimerFieldFilter, pretty: boolean): string {
  const obj = consoleObject(snapshot, pctThreshold, filter);
  const json = pretty ? JSON.stringify(obj, null, 2) : stringifyFlat(obj);
  return `Flushing stats at ${new Date(snapshot.timestamp * 1000).toString()}\n${json}\n`;
}

/**
 * One 'error' listener per output stream for the life of the process (a reload replaces the backend, and
 * a write queued before may fail after its stop): an output that fails (stdout closed: EPIPE) never ends
 * the daemon; the backends printing to it are told.
 */
const errorWatchers = new WeakMap<NodeJS.WritableStream, Set<(err: Error) => void>>();

function watchErrors(out: NodeJS.WritableStream, onError: (err: Error) => void): () => void {
  let set = errorWatchers.get(out);
  if (set === undefined) {
    const fns = new Set<(err: Error) => void>();
    out.on('error', (err: Error) => {
      for (const f of fns) f(err);
    });
    errorWatchers.set(out, fns);
    set = fns;
  }
  set.add(onError);
  return () => set.delete(onError);
}

export class ConsoleBackend implements Backend {
  readonly name = 'console';
  private lastFlush: number;
  private lastException: number;
  private readonly filter: TimerFieldFilter;
  /** Set once the output failed (stdout closed: EPIPE): flushes are no longer printed, the daemon goes on. */
  private broken: { readonly text: string; readonly at: number } | null = null;
  private readonly onError = (err: Error): void => {
    if (this.broken !== null) return;
    this.broken = { text: errorText(err), at: Date.now() };
    this.lastException = Math.round(this.broken.at / 1000);
    this.ctx.log.error({ err }, 'console backend: its output failed (stdout closed?): flushes are no longer printed');
  };

  constructor(
    private readonly ctx: BackendContext,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    this.lastFlush = ctx.startupTime;
    this.lastException = ctx.startupTime;
    this.filter = timerFieldFilter(ctx.config.calculatedTimerMetrics);
  }

  private unwatch: (() => void) | null = null;

  async start(): Promise<void> {
    this.unwatch = watchErrors(this.out, this.onError);
  }

  async flush(snapshot: Snapshot): Promise<void> {
    if (this.broken !== null) return;
    try {
      const text = formatConsole(snapshot, this.ctx.config.percentThreshold, this.filter, this.ctx.config.console.prettyprint);
      this.out.write(text);
      this.lastFlush = Math.round(Date.now() / 1000);
    } catch (err) {
      this.lastException = Math.round(Date.now() / 1000);
      this.ctx.log.warn({ err }, 'console backend could not print a flush');
    }
  }

  status(): StatusLine[] {
    return [
      ['last_flush', this.lastFlush],
      ['last_exception', this.lastException],
    ];
  }

  state(): BackendState {
    const b = this.broken;
    return { connected: b === null, replaying: false, lastError: b?.text ?? null, lastErrorAt: b?.at ?? null };
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.unwatch = null;
  }
}

export function createConsoleBackend(ctx: BackendContext, out?: NodeJS.WritableStream): Backend {
  return new ConsoleBackend(ctx, out);
}
