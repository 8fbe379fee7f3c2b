/**
 * The pipeline's orchestration (src/pipeline/pipeline.ts) with an injected Clock and fake timers, and
 * fake backends registered under test names that record every call: flush order and timestamps, stop
 * (the partial interval flushed, then deliveries drained, then backends stopped), and reload
 * reconciliation (a new flushInterval re-arms the timer; which backends are kept, rebuilt or retired
 * by their capabilities; a backend whose constructor throws refuses the reload and keeps the old
 * backend). The input is the local one (no listeners: servers: []) or a fake IngestSource standing for
 * the workers (a collect step that merges into the aggregator). No sleeps: time moves only when the
 * test moves it. The admin interface binds 127.0.0.1:0.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeKey } from '../../src/aggregator/merge.js';
import type { Snapshot } from '../../src/aggregator/snapshot.js';
import { registerBackend } from '../../src/backends/registry.js';
import type { Backend, BackendContext } from '../../src/backends/types.js';
import type { TallydConfig } from '../../src/config/types.js';
import type { LocalIngest } from '../../src/pipeline/ingest-local.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { Collected, IngestHost, IngestSource, TcpCounts } from '../../src/pipeline/source.js';
import type { Clock } from '../../src/pipeline/timer.js';
import { sumStatusGroups } from '../../src/pipeline/workers-backends.js';
import { counter, testConfig } from './aggregator/helpers.js';

/** Unix ms of the daemon's start (a whole second: flushes fall on start + k × flushInterval). */
const T0 = 1_700_000_000_000;

class FakeClock implements Clock {
  t = T0;
  now(): number {
    return this.t;
  }
}

/** Every call any fake backend saw, in order, across instances. */
interface Call {
  backend: string;
  instance: number;
  op: 'start' | 'flush' | 'flushed' | 'stop' | 'reconfigure';
  snapshot?: Snapshot;
  deadlineMs?: number;
}

let calls: Call[] = [];
let instances = 0;
/** When set, a fake backend's flush resolves only when the test calls it (a slow delivery). */
let holdDelivery: Array<() => void> | null = null;

class RecordingBackend implements Backend {
  readonly instance = ++instances;
  constructor(readonly name: string) {}
  async start(): Promise<void> {
    calls.push({ backend: this.name, instance: this.instance, op: 'start' });
  }
  async flush(snapshot: Snapshot): Promise<void> {
    calls.push({ backend: this.name, instance: this.instance, op: 'flush', snapshot });
    if (holdDelivery !== null) await new Promise<void>((res) => holdDelivery!.push(res));
    calls.push({ backend: this.name, instance: this.instance, op: 'flushed' });
  }
  status() {
    return [];
  }
  async stop(deadlineMs: number): Promise<void> {
    calls.push({ backend: this.name, instance: this.instance, op: 'stop', deadlineMs });
  }
}

registerBackend('test-a', (ctx: BackendContext) => new RecordingBackend('test-a:' + ctx.config.flushInterval));
registerBackend('test-b', () => new RecordingBackend('test-b'));
registerBackend('test-throws', () => {
  throw new Error('test-throws: cannot build (as a mapping file unreadable at reload)');
});
/** Drains after replacement (as Graphite): a replaced instance is retired, not stopped first. */
registerBackend('test-drains', () => new RecordingBackend('test-drains'), undefined, { drainsAfterReplace: true });
/** Takes a new config in place (as Prometheus): kept across reloads. */
class InPlaceBackend extends RecordingBackend {
  async reconfigure(ctx: BackendContext): Promise<boolean> {
    calls.push({ backend: this.name, instance: this.instance, op: 'reconfigure', deadlineMs: ctx.config.flushInterval });
    return true;
  }
}
registerBackend('test-inplace', () => new InPlaceBackend('test-inplace'));
/** The yield functions the 'test-yield' backends were built with, in build order. */
const yieldsGiven: Array<BackendContext['yieldToIngest']> = [];
registerBackend('test-yield', (ctx: BackendContext) => {
  yieldsGiven.push(ctx.yieldToIngest);
  return new RecordingBackend('test-yield');
});

const silent = pino({ level: 'silent' });

function config(over: Partial<TallydConfig> = {}): TallydConfig {
  const base = testConfig();
  return testConfig({
    backends: ['test-a', 'test-b'],
    mgmtAddress: '127.0.0.1',
    statusPage: { ...base.statusPage, enabled: false },
    flushInterval: 1000,
    ...over,
  });
}

/** Event-loop turns (setImmediate is not faked) until `cond` holds: the flush computes in slices. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never: ${what}`);
}

const flushes = (backend?: string): Call[] =>
  calls.filter((c) => c.op === 'flush' && (backend === undefined || c.backend.startsWith(backend)));

/** Waits `ms` of real time giving the event loop turns (setTimeout is faked). */
async function realWait(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await new Promise((r) => setImmediate(r));
}

/**
 * A fake of the workers' input: each collect is held until the test answers it with counter values,
 * which it merges into the pipeline's aggregator as the workers' partials are merged.
 */
class FakeWorkers implements IngestSource {
  readonly collect: (final: boolean) => Promise<Collected>;
  /** Collect requests not answered yet, oldest first. */
  readonly asked: Array<{ final: boolean; answer(counters: Record<string, number>): void }> = [];
  host: IngestHost | null = null;
  closed = false;
  constructor() {
    this.collect = (final) =>
      new Promise<Collected>((resolve) => {
        this.asked.push({
          final,
          answer: (counters) => {
            for (const [name, v] of Object.entries(counters)) this.host!.aggregator.mergeCounter(makeKey(name, []), v);
            resolve({ mergeCpuMs: 0, dropped: [{ dropped: 3, forBytes: 0, topPrefixes: [['far.away', 3]] }] });
          },
        });
      });
  }
  async start(): Promise<void> {}
  placeBackend(): Backend | null {
    return null;
  }
  setBackends(): void {}
  async reconfigure(): Promise<string[]> {
    return [];
  }
  async closeInput(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
  listenerDescriptions(): string[] {
    return [];
  }
  udpPorts(): number[] {
    return [];
  }
  tcpPorts(): number[] {
    return [];
  }
  tcpCounts(): TcpCounts {
    return { open: 0, refused: 0, idleTimeouts: 0 };
  }
  upFields(): Record<string, unknown> {
    return { workers: 2 };
  }
}

function send(d: Pipeline, text: string): void {
  const buf = Buffer.from(text);
  (d.source as LocalIngest).handlePacket(buf, 0, buf.length);
}

describe('Pipeline orchestration (fake clock, fake backends)', () => {
  let clock: FakeClock;
  let daemon: Pipeline | null = null;

  /** Moves the injected clock and the fake timers together. */
  async function advance(ms: number): Promise<void> {
    clock.t += ms;
    await vi.advanceTimersByTimeAsync(ms);
  }

  beforeEach(() => {
    calls = [];
    holdDelivery = null;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    clock = new FakeClock();
  });

  afterEach(async () => {
    if (holdDelivery !== null) {
      const h = holdDelivery;
      holdDelivery = null;
      for (const r of h) r();
    }
    if (daemon !== null) await daemon.stop(0).catch(() => undefined);
    daemon = null;
    vi.useRealTimers();
  });

  it('flushes on start + k × flushInterval, to every backend in order, with that tick as timestamp', async () => {
    daemon = new Pipeline(config(), silent, { clock });
    await daemon.start();
    expect(calls.map((c) => `${c.backend} ${c.op}`)).toEqual(['test-a:1000 start', 'test-b start']);

    send(daemon, 'a:1|c\na:2|c');
    await advance(999);
    expect(flushes()).toHaveLength(0); // not before the boundary
    await advance(1);
    await until(() => flushes().length === 2, 'the first flush reaches both backends');
    const [fa, fb] = flushes();
    expect([fa!.backend, fb!.backend]).toEqual(['test-a:1000', 'test-b']);
    expect(fa!.snapshot).toBe(fb!.snapshot); // one snapshot, handed to each
    expect(fa!.snapshot!.timestamp).toBe(T0 / 1000 + 1);
    expect(fa!.snapshot!.intervalMs).toBe(1000);
    expect(counter(fa!.snapshot!, 'a')).toBe(3);

    // what arrives after the tick belongs to the next interval
    send(daemon, 'a:5|c');
    await advance(1000);
    await until(() => flushes().length === 4, 'the second flush');
    const second = flushes('test-a')[1]!.snapshot!;
    expect(second.timestamp).toBe(T0 / 1000 + 2);
    expect(counter(second, 'a')).toBe(5);
    expect(flushes('test-b')[1]!.snapshot).toBe(second);
  });

  it('hands each pipeline its own scheduler: its backends share one yield, another pipeline has another', async () => {
    yieldsGiven.length = 0;
    const one = new Pipeline(config({ backends: ['test-yield', 'test-yield'] }), silent, { clock });
    const two = new Pipeline(config({ backends: ['test-yield'] }), silent, { clock });
    try {
      await one.start();
      await two.start();
      expect(yieldsGiven).toHaveLength(3);
      expect(yieldsGiven[0]).toBe(yieldsGiven[1]);
      expect(yieldsGiven[2]).not.toBe(yieldsGiven[0]);
      await yieldsGiven[0]!(); // resolves (one turn while ingest is quiet)
    } finally {
      await one.stop(0);
      await two.stop(0);
    }
  });

  it('stop: flushes the partial interval, waits for its delivery, then stops every backend', async () => {
    daemon = new Pipeline(config(), silent, { clock });
    await daemon.start();
    send(daemon, 'partial:7|c');
    await advance(400); // mid-interval: no tick yet
    expect(flushes()).toHaveLength(0);

    holdDelivery = [];
    const d = daemon;
    daemon = null;
    let stopped = false;
    const stopping = d.stop(60_000).then(() => {
      stopped = true;
    });
    await until(() => flushes().length === 2, 'the final flush reaches both backends');
    expect(counter(flushes('test-a')[0]!.snapshot!, 'partial')).toBe(7);
    expect(flushes('test-a')[0]!.snapshot!.timestamp).toBe(Math.round((T0 + 400) / 1000));
    // the deliveries are still pending: no backend is stopped yet
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(calls.filter((c) => c.op === 'stop')).toEqual([]);
    expect(stopped).toBe(false);

    const release = holdDelivery;
    holdDelivery = null;
    for (const r of release) r();
    await stopping;
    const ops = calls.map((c) => `${c.backend.split(':')[0]} ${c.op}`).filter((s) => !s.endsWith('start'));
    expect(ops.slice(0, 2)).toEqual(['test-a flush', 'test-b flush']);
    expect(ops.slice(2, 4).sort()).toEqual(['test-a flushed', 'test-b flushed']);
    expect(ops.slice(4).sort()).toEqual(['test-a stop', 'test-b stop']);
    expect(calls.filter((c) => c.op === 'stop').every((c) => c.deadlineMs! > 0)).toBe(true);
    // and no tick flushes after the stop
    await advance(5000);
    expect(flushes()).toHaveLength(2);
  });

  it('reload: a new flushInterval re-arms the timer; the backends are rebuilt with it', async () => {
    const first = config();
    daemon = new Pipeline(first, silent, { clock });
    await daemon.start();
    await advance(1000);
    await until(() => flushes().length === 2, 'the first flush');

    const changed = await daemon.applyConfig(config({ flushInterval: 2000 }));
    expect(changed).toContain('flushInterval');
    expect(daemon.currentConfig.flushInterval).toBe(2000);
    // the next boundary is start + 2 × 2000 = T0 + 4000 (now is T0 + 1000)
    send(daemon, 'r:1|c');
    await advance(1000);
    await advance(1000);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    const before = flushes('test-a').length;
    await advance(1000);
    await until(() => flushes('test-a').length === before + 1, 'the flush at T0 + 4000');
    const s = flushes('test-a').at(-1)!;
    expect(s.backend).toBe('test-a:2000'); // the instance built from the new config
    expect(s.snapshot!.timestamp).toBe(T0 / 1000 + 4);
    expect(s.snapshot!.intervalMs).toBe(2000);
    expect(counter(s.snapshot!, 'r')).toBe(1);
    // nothing in between: the old 1000 ms schedule is gone (one flush per backend since the reload)
    expect(flushes().filter((c) => c.snapshot!.timestamp > T0 / 1000 + 1)).toHaveLength(2);
    // the replaced instance was stopped, the new one started
    expect(calls.some((c) => c.backend === 'test-a:1000' && c.op === 'stop')).toBe(true);
    expect(calls.some((c) => c.backend === 'test-a:2000' && c.op === 'start')).toBe(true);
  });

  it('reload: a backend whose constructor throws refuses the reload; the old config and backends stay', async () => {
    const first = config();
    daemon = new Pipeline(first, silent, { clock });
    await daemon.start();
    send(daemon, 'k:1|c');

    await expect(daemon.applyConfig(config({ backends: ['test-a', 'test-b', 'test-throws'], flushInterval: 500 }))).rejects.toThrow(
      /test-throws: cannot build/,
    );
    expect(daemon.currentConfig).toBe(first);
    expect(calls.filter((c) => c.op === 'stop')).toEqual([]); // no backend was stopped

    // the old schedule (1000 ms) and the old backends still run, the interval's counts intact
    await advance(500);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(flushes()).toHaveLength(0);
    await advance(500);
    await until(() => flushes().length === 2, 'the flush after the refused reload');
    expect(flushes().map((c) => c.backend)).toEqual(['test-a:1000', 'test-b']);
    expect(counter(flushes()[0]!.snapshot!, 'k')).toBe(1);
    expect(flushes()[0]!.snapshot!.intervalMs).toBe(1000);
  });
  it('reload: an in-place backend is kept, a draining one retired (not stopped first), the others rebuilt', async () => {
    daemon = new Pipeline(config({ backends: ['test-inplace', 'test-drains', 'test-b'] }), silent, { clock });
    await daemon.start();
    const before = new Map(calls.filter((c) => c.op === 'start').map((c) => [c.backend, c.instance]));
    holdDelivery = []; // the draining backend's queue is not empty yet
    send(daemon, 'q:1|c');
    await advance(1000);
    await until(() => flushes().length === 3, 'a flush still being delivered');

    calls.length = 0;
    const changed = await daemon.applyConfig(config({ backends: ['test-inplace', 'test-drains', 'test-b'], flushInterval: 2000 }));
    expect(changed).toEqual(expect.arrayContaining(['flushInterval', 'backends']));
    // kept in place: reconfigured, neither stopped nor started again
    expect(calls.filter((c) => c.backend === 'test-inplace').map((c) => c.op)).toEqual(['reconfigure']);
    // rebuilt: the old instance stopped (with a short deadline) before the new one started
    const b = calls.filter((c) => c.backend === 'test-b').map((c) => `${c.instance === before.get('test-b') ? 'old' : 'new'} ${c.op}`);
    expect(b).toEqual(['old stop', 'new start']);
    // drains after replacement: the new one started, the old one told to stop with no deadline but its queue
    const drains = calls.filter((c) => c.backend === 'test-drains');
    expect(drains.map((c) => `${c.instance === before.get('test-drains') ? 'old' : 'new'} ${c.op}`)).toEqual(['new start', 'old stop']);
    expect(drains[1]!.deadlineMs).toBeGreaterThan(24 * 3600 * 1000);

    // the next flush goes to the kept and the new instances only
    const release = holdDelivery;
    holdDelivery = null;
    for (const r of release) r();
    calls.length = 0;
    send(daemon, 'q:2|c');
    await advance(3000); // the next 2000 ms boundary: T0 + 4000
    await until(() => flushes().length === 3, 'the flush after the reload');
    expect(flushes().map((c) => `${c.backend} ${c.instance === before.get(c.backend) ? 'old' : 'new'}`)).toEqual([
      'test-inplace old',
      'test-drains new',
      'test-b new',
    ]);
  });

  it('reload: a change no backend reads (maxKeys) rebuilds no backend', async () => {
    daemon = new Pipeline(config(), silent, { clock });
    await daemon.start();
    calls.length = 0;
    const changed = await daemon.applyConfig(config({ maxKeys: 1234 }));
    expect(changed).not.toContain('backends');
    expect(calls).toEqual([]);
    expect(daemon.currentConfig.maxKeys).toBe(1234);
  });

  it('with a collecting input (workers): the flush merges first, stamps the tick, keeps ticks in order and counts no waiting in its duration', async () => {
    const workers = new FakeWorkers();
    daemon = new Pipeline(config(), silent, {
      clock,
      source: (host) => {
        workers.host = host;
        return workers;
      },
    });
    await daemon.start();
    await advance(1000);
    await until(() => workers.asked.length === 1, 'the first collect');
    // the second tick comes while the first collect is unanswered: its collect waits for the first
    await advance(1000);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(workers.asked).toHaveLength(1);
    expect(flushes()).toHaveLength(0);

    await realWait(60); // the workers are slow: this wait is not the flush's CPU time
    workers.asked[0]!.answer({ w: 4 });
    await until(() => workers.asked.length === 2, 'the second collect, after the first');
    workers.asked[1]!.answer({ w: 1 });
    await until(() => flushes().length === 4, 'both flushes reach both backends');
    const [first, second] = flushes('test-b').map((c) => c.snapshot!);
    expect(first!.timestamp).toBe(T0 / 1000 + 1);
    expect(counter(first!, 'w')).toBe(4);
    expect(second!.timestamp).toBe(T0 / 1000 + 2);
    expect(counter(second!, 'w')).toBe(1);
    expect(daemon.selfStats().flushes).toBe(2);
    expect(daemon.selfStats().lastFlushDurationMs).toBeLessThan(50);

    // stop: a final collect, its flush, then the input closed
    const d = daemon;
    daemon = null;
    const stopping = d.stop(1000);
    await until(() => workers.asked.length === 3, 'the final collect');
    expect(workers.asked[2]!.final).toBe(true);
    expect(workers.closed).toBe(false);
    workers.asked[2]!.answer({ w: 9 });
    await stopping;
    expect(counter(flushes('test-b')[2]!.snapshot!, 'w')).toBe(9);
    expect(workers.closed).toBe(true);
  });
});

describe('a backend that runs in the workers, as the primary shows it', () => {
  it("adds up the workers' status numbers, keeps the latest last_* time and the first text", () => {
    const sum = sumStatusGroups([
      [
        {
          name: 'repeater',
          lines: [
            ['packets_sent', 3],
            ['send_errors', 1],
            ['last_exception', 100],
            ['target', 'a:1'],
          ],
        },
      ],
      [
        {
          name: 'repeater',
          lines: [
            ['packets_sent', 4],
            ['send_errors', 0],
            ['last_exception', 200],
            ['target', 'b:2'],
          ],
        },
        { name: 'extra', lines: [['n', 1]] },
      ],
    ]);
    expect(sum).toEqual([
      {
        name: 'repeater',
        lines: [
          ['packets_sent', 7],
          ['send_errors', 1],
          ['last_exception', 200],
          ['target', 'a:1'],
        ],
      },
      { name: 'extra', lines: [['n', 1]] },
    ]);
  });
});
