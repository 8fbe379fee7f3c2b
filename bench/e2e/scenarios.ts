/**
 * The bench's scenarios: zero-loss knees (bare receiver, tallyd, the original statsd) for one load
 * shape, and the flush scenario (a million live keys: flush time, ingest loss while flushing,
 * memory per key).
 */
import { type BareReceiver, startBareReceiver } from './bare-receiver.js';
import type { DaemonHandle, DaemonOptions } from './daemon.js';
import type { FlushRecord, GraphiteSink, ParsedFlush } from './graphite-sink.js';
import { findKnee, isNoLoss, type KneeOptions, type KneeResult, type StepOutcome } from './knee.js';
import { runBlast } from './loadgen.js';
import { populateKeys } from './populate.js';
import { CpuMeter, memoryStatus, sleep, udpRcvbufErrors } from './proc.js';

export interface LoadShape {
  /** Lines per packet. */
  lines: number;
  mix: string;
  keys: number;
}

export interface BenchContext {
  blastBin: string;
  sink: GraphiteSink;
  recvBuffer: number;
  stepSeconds: number;
  /** Progress lines (stderr). */
  log: (msg: string) => void;
}

export interface KneeRun {
  who: string;
  shape: LoadShape;
  result: KneeResult;
  /** VmHWM of the receiver at the end, bytes. */
  peakRssBytes: number | null;
  grantedRecvBuffer: number | null;
}

/** graphite.queueBytes for the flush scenario: room for a payload of a million keys. */
const GRAPHITE_QUEUE_BYTES = 1024 * 1024 * 1024;

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

function describeStep(who: string, shape: LoadShape, s: StepOutcome): string {
  const loss = s.sent > 0 ? ((s.sent - s.received) / s.sent) * 100 : 0;
  return (
    `  ${who.padEnd(7)} ${fmtInt(s.achievedRate).padStart(9)} pkt/s (${fmtInt(s.achievedRate * shape.lines).padStart(10)} lines/s)` +
    `  loss ${loss.toFixed(4).padStart(8)}%  ${s.ok ? 'ok  ' : 'LOSS'}  cpu ${s.cpuCores?.toFixed(2) ?? '?'}  kernel drops ${s.kernelDrops ?? '?'}`
  );
}

const dropsSince = (before: number | null): number | null => {
  const now = udpRcvbufErrors();
  return now === null || before === null ? null : now - before;
};

/** The knee of the bare receiver: lines counted vs lines sent. */
export async function bareKnee(ctx: BenchContext, shape: LoadShape, opts: KneeOptions): Promise<KneeRun> {
  const rx: BareReceiver = await startBareReceiver(ctx.recvBuffer);
  try {
    ctx.log(`bare receiver on udp 127.0.0.1:${rx.port}, SO_RCVBUF granted ${rx.grantedRecvBuffer}`);
    const result = await findKnee(
      opts,
      async (rate) => {
        const before = await rx.settledCounts();
        const drops0 = udpRcvbufErrors();
        const meter = new CpuMeter(rx.pid);
        const b = await runBlast(ctx.blastBin, { port: rx.port, rate, seconds: ctx.stepSeconds, ...shape, prefix: 'bare' });
        const cpuCores = meter.cores();
        const after = await rx.settledCounts();
        const received = after.lines - before.lines;
        return {
          targetRate: rate,
          achievedRate: b.packetsPerSec,
          sent: b.sentLines,
          received,
          ok: isNoLoss(b.sentLines, received),
          cpuCores,
          kernelDrops: dropsSince(drops0),
        };
      },
      (s) => ctx.log(describeStep('bare', shape, s)),
    );
    return {
      who: 'bare',
      shape,
      result,
      peakRssBytes: memoryStatus(rx.pid)?.peakRssBytes ?? null,
      grantedRecvBuffer: rx.grantedRecvBuffer,
    };
  } finally {
    await rx.stop();
  }
}

let stepSerial = 0;

/**
 * The knee of a daemon: counter lines sent vs the sum of the `stats_counts.<prefix>.c*` it flushed.
 * Each step uses a fresh key prefix, so its counts cannot mix with another step's.
 */
export async function daemonKnee(
  ctx: BenchContext,
  start: (o: DaemonOptions) => Promise<DaemonHandle>,
  shape: LoadShape,
  opts: KneeOptions,
  flushInterval: number,
): Promise<KneeRun> {
  const d = await start({ graphitePort: ctx.sink.port, flushInterval, recvBuffer: ctx.recvBuffer, deleteIdle: true });
  try {
    ctx.log(`${d.name} (pid ${d.pid}) on udp 127.0.0.1:${d.udpPort}, SO_RCVBUF granted ${d.grantedRecvBuffer ?? 'default'}`);
    const result = await findKnee(
      opts,
      async (rate) => {
        ctx.sink.forgetOld(0);
        const prefix = `k${++stepSerial}x`;
        const drops0 = udpRcvbufErrors();
        const meter = new CpuMeter(d.pid);
        const b = await runBlast(ctx.blastBin, { port: d.udpPort, rate, seconds: ctx.stepSeconds, ...shape, prefix });
        const cpuCores = meter.cores();
        // Two flushes that began after the last packet: the socket backlog is drained and counted.
        try {
          await ctx.sink.waitForFlushes(2, Date.now(), flushInterval * 3 + 30_000);
        } catch (err) {
          throw new Error(`${(err as Error).message}; ${d.name} said:\n${d.tail()}`);
        }
        const received = ctx.sink.totals(prefix).counterSum;
        const sent = b.sentCounterLines;
        return {
          targetRate: rate,
          achievedRate: b.packetsPerSec,
          sent,
          received,
          ok: isNoLoss(sent, received),
          cpuCores,
          kernelDrops: dropsSince(drops0),
        };
      },
      (s) => ctx.log(describeStep(d.name, shape, s)),
    );
    return { who: d.name, shape, result, peakRssBytes: memoryStatus(d.pid)?.peakRssBytes ?? null, grantedRecvBuffer: d.grantedRecvBuffer };
  } finally {
    await d.stop();
    ctx.sink.forgetOld(0);
  }
}

export interface FlushMeasure {
  lines: number;
  bytes: number;
  /** Counter updates (of the populated keys) the flush carried: all keys were updated once in its interval. */
  counterUpdates: number;
  /** From the flush tick (the payload's timestamp) to its last byte, ms. */
  tickToLastByteMs: number;
  /** From the tick to the connection, ms (computing the snapshot and the payload). */
  tickToConnectMs: number;
  /** From the first to the last byte, ms. */
  transferMs: number;
  /** The daemon's own figures, as it sent them (ms); flush_time/flush_length come with the next flush. */
  processingTimeMs: number | null;
  calculationTimeMs: number | null;
  flushTimeMs: number | null;
  flushLength: number | null;
  numStats: number | null;
}

export interface FlushRun {
  flushInterval: number;
  grantedRecvBuffer: number | null;
  liveCounterKeys: number;
  liveTimerKeys: number;
  rssIdleBytes: number | null;
  rssCountersBytes: number | null;
  rssTimersBytes: number | null;
  peakRssBytes: number | null;
  bytesPerCounterKey: number | null;
  /** How long after a flush the lowest RSS was looked for. */
  rssWindowMs: number;
  bytesPerTimerKey: number | null;
  populate: { lines: number; seconds: number }[];
  /** The flush of every key updated in its interval, under load. */
  heavy: FlushMeasure;
  /** Remarks on how the run went. */
  notes: string[];
  /** What this run is (e.g. histogram on/off), for the report. */
  label: string;
  /** Issue 10's case, when asked: timers sent past their reservoirs in the heavy flush's interval. */
  overflow: OverflowMeasure | null;
  /** The load offered across that flush. */
  load: {
    linesPerSec: number;
    packetsPerSec: number;
    sent: number;
    received: number;
    ok: boolean;
    kernelDrops: number | null;
    cpuCores: number | null;
  };
}

export interface OverflowMeasure {
  /** Timer keys sent past their reservoir (the first ones of the populated timers). */
  timers: number;
  /** Timer lines tally-blast sent for them, in how long, at what rate. */
  sentLines: number;
  seconds: number;
  linesPerSec: number;
  /** The fewest values any of those keys got (from the generator's ring layout). */
  minValuesPerKey: number;
  /** Timer values of the populated keys the heavy flush counted (`.count`), against those sent (populate + tally-blast). */
  counted: number;
  expected: number;
  /** Timer keys whose count in the heavy flush exceeds the reservoir (1,024). */
  keysPastReservoir: number;
  kernelDrops: number | null;
  cpuCores: number | null;
}

export interface FlushOptions {
  counterKeys: number;
  timerKeys: number;
  flushInterval: number;
  /** Ingest offered while the heavy flush runs, lines/s (25-line packets, half counters half timers). */
  loadLinesPerSec: number;
  /** Pace of the key-populating sender, lines/s. */
  populateLinesPerSec: number;
  /**
   * Issue 10's case: in the heavy flush's interval, after every key's update, the first `timers`
   * timer keys get at least `values` values each (past their reservoir), sent over UDP by tally-blast
   * at `linesPerSec`.
   */
  overflow?: { timers: number; values: number; linesPerSec: number };
  /** More daemon config (e.g. `{ timerHistogram: false }`). */
  extra?: Record<string, unknown>;
  /** What this run is, for the report. */
  label?: string;
}

/** tally-blast's ring (RING in tally-blast.c) and the timer lines per packet the overflow step asks for. */
const BLAST_RING = 4096;
const OVERFLOW_LINES_PER_PACKET = 80;

/**
 * Packets of the overflow step: tally-blast cycles the keys line by line through its ring of
 * BLAST_RING packets, so each pass of the ring gives every key at least floor(ring lines / timers)
 * values; whole passes until each key has `values`.
 */
export function overflowPlan(timers: number, values: number): { packets: number; lines: number; minValuesPerKey: number } {
  const ringLines = BLAST_RING * OVERFLOW_LINES_PER_PACKET;
  const perPass = Math.floor(ringLines / timers);
  if (perPass < 1) throw new Error(`overflow: at most ${ringLines} timer keys (tally-blast's ring)`);
  const passes = Math.ceil(values / perPass);
  return { packets: passes * BLAST_RING, lines: passes * ringLines, minValuesPerKey: passes * perPass };
}

/**
 * The lowest VmRSS seen over `ms` (sampled every 100 ms): the steady state between flushes (right
 * after a flush the heap still holds that flush's garbage until V8 collects it).
 */
async function settledRss(pid: number, ms: number): Promise<number | null> {
  let min: number | null = null;
  const end = Date.now() + ms;
  do {
    await sleep(100);
    const r = memoryStatus(pid)?.rssBytes;
    if (r !== undefined && (min === null || r < min)) min = r;
  } while (Date.now() < end);
  return min;
}

const internal = (m: Map<string, number>, ...paths: string[]): number | null => {
  for (const p of paths) {
    const v = m.get(p);
    if (v !== undefined) return v;
  }
  return null;
};

/**
 * Flush time, ingest loss while flushing, and memory per key, on one daemon with `counterKeys`
 * counters and `timerKeys` timers kept live (deleteIdleStats off, as the original's default).
 */
export async function flushScenario(
  ctx: BenchContext,
  start: (o: DaemonOptions) => Promise<DaemonHandle>,
  o: FlushOptions,
): Promise<FlushRun> {
  const FI = o.flushInterval;
  /** The lowest RSS is looked for over most of an interval after a flush (the next one is ~FI away). */
  const rssWindowMs = Math.min(6000, FI / 2);
  const flushWait = FI * 3 + 60_000;
  const d = await start({
    graphitePort: ctx.sink.port,
    flushInterval: FI,
    recvBuffer: ctx.recvBuffer,
    deleteIdle: false,
    // A 1M-key payload is larger than the default 64 MiB delivery queue, which drops it whole.
    extra: { graphite: { queueBytes: GRAPHITE_QUEUE_BYTES }, ...o.extra },
  });
  const sink = ctx.sink;
  const notes: string[] = [];
  /** The next flush accepted at or after `t`, finished and parsed. */
  const flushAfter = async (t: number): Promise<{ rec: FlushRecord; parsed: ParsedFlush }> => {
    let rec: FlushRecord;
    try {
      [rec] = (await sink.waitForFlushes(1, t, flushWait)) as [FlushRecord];
    } catch (err) {
      throw new Error(`${(err as Error).message}; ${d.name} said:\n${d.tail()}`);
    }
    return { rec, parsed: sink.parse(rec) };
  };
  const populate: { lines: number; seconds: number }[] = [];
  /**
   * Send the keys right after a flush has been delivered (so that no flush stalls the daemon while
   * they arrive), up to `passes` times until `live()` reaches 99 % of `want`: new keys cost more
   * than updates, and what is lost in one pass is sent again in the next.
   */
  const fill = async (
    counters: number,
    timers: number,
    want: number,
    live: (f: ParsedFlush) => number,
    passes: number,
  ): Promise<{ live: number; last: { rec: FlushRecord; parsed: ParsedFlush } }> => {
    let last = await flushAfter(Date.now());
    let n = 0;
    for (let pass = 1; ; pass++) {
      sink.forgetOld(1);
      await sleep(100);
      const p = await populateKeys({
        port: d.udpPort,
        prefix: 'fk',
        counters,
        timers,
        linesPerPacket: 50,
        linesPerSec: o.populateLinesPerSec,
      });
      populate.push(p);
      last = await flushAfter(Date.now());
      n = live(last.parsed);
      ctx.log(`  pass ${pass}: ${fmtInt(p.lines)} lines in ${p.seconds.toFixed(1)} s; live keys flushed: ${fmtInt(n)}`);
      if (n >= want * 0.99 || pass >= passes) return { live: n, last };
    }
  };
  try {
    ctx.log(`${d.name} (pid ${d.pid}) for the flush scenario, flushInterval ${FI} ms`);
    await flushAfter(0);
    const rssIdle = await settledRss(d.pid, rssWindowMs);

    // 1. The counters, then the memory they take.
    ctx.log(`populating ${fmtInt(o.counterKeys)} counter keys at ${fmtInt(o.populateLinesPerSec)} lines/s`);
    const c = await fill(o.counterKeys, 0, o.counterKeys, (f) => f.byPrefix.get('fk')?.counterKeys ?? 0, 3);
    const rssCounters = await settledRss(d.pid, rssWindowMs);
    const liveCounterKeys = c.live;

    // 2. The timers.
    ctx.log(`populating ${fmtInt(o.timerKeys)} timer keys`);
    const t = await fill(0, o.timerKeys, o.timerKeys, (f) => f.byPrefix.get('fk')?.timerKeys ?? 0, 3);
    const rssTimers = await settledRss(d.pid, rssWindowMs);
    const liveTimerKeys = t.live;

    // 3. The heavy flush: right after a flush, update every key, then offer load across the next flush.
    ctx.log(`updating all ${fmtInt(o.counterKeys + o.timerKeys)} keys, then ${fmtInt(o.loadLinesPerSec)} lines/s across the next flush`);
    // Reuse the flush that ended phase 2 when enough of its interval is left, else wait for the next.
    const ov = o.overflow === undefined ? null : { ...o.overflow, ...overflowPlan(o.overflow.timers, o.overflow.values) };
    const needMs = ((o.counterKeys + o.timerKeys) / o.populateLinesPerSec + (ov === null ? 0 : ov.lines / ov.linesPerSec)) * 1000 + 1000;
    const before = t.last.parsed.ts * 1000 + FI - Date.now() > needMs ? t.last : await flushAfter(Date.now());
    sink.forgetOld(0);
    await sleep(100);
    const p = await populateKeys({
      port: d.udpPort,
      prefix: 'fk',
      counters: o.counterKeys,
      timers: o.timerKeys,
      linesPerPacket: 50,
      linesPerSec: o.populateLinesPerSec,
    });
    populate.push(p);
    let overflowSent: {
      sentLines: number;
      seconds: number;
      linesPerSec: number;
      kernelDrops: number | null;
      cpuCores: number | null;
    } | null = null;
    if (ov !== null) {
      // issue 10's case: the first ov.timers timer keys (`fk.t<k>`) past their reservoirs, over UDP
      ctx.log(
        `sending ${fmtInt(ov.lines)} timer lines to ${fmtInt(ov.timers)} of those keys (≥ ${fmtInt(ov.minValuesPerKey)} each) at ${fmtInt(ov.linesPerSec)} lines/s`,
      );
      const od0 = udpRcvbufErrors();
      const om = new CpuMeter(d.pid);
      const ob = await runBlast(ctx.blastBin, {
        port: d.udpPort,
        rate: ov.linesPerSec / OVERFLOW_LINES_PER_PACKET,
        seconds: Math.min(600, (ov.lines / ov.linesPerSec) * 3 + 10),
        lines: OVERFLOW_LINES_PER_PACKET,
        mix: 't',
        keys: ov.timers,
        prefix: 'fk',
        packets: ov.packets,
      });
      overflowSent = {
        sentLines: ob.sentLines,
        seconds: ob.seconds,
        linesPerSec: ob.linesPerSec,
        kernelDrops: dropsSince(od0),
        cpuCores: om.cores(),
      };
    }
    const populatedAt = Date.now();
    let nextTick = before.parsed.ts * 1000 + FI;
    if (nextTick < populatedAt + 200) {
      notes.push('updating every key took longer than what was left of the interval: the heavy flush holds only part of the updates');
      while (nextTick < populatedAt + 200) nextTick += FI;
    }
    // Run until well past the heavy flush, and stop before the one after it.
    const loadSeconds = Math.max(2, (nextTick + Math.min(5000, FI - 1000) - Date.now()) / 1000);
    const drops0 = udpRcvbufErrors();
    const meter = new CpuMeter(d.pid);
    const b = await runBlast(ctx.blastBin, {
      port: d.udpPort,
      rate: o.loadLinesPerSec / 25,
      seconds: loadSeconds,
      lines: 25,
      mix: 'ct',
      keys: 1000,
      prefix: 'fl',
    });
    const cpuCores = meter.cores();
    const loadEnd = Date.now();
    const heavy = await flushAfter(populatedAt);
    const next = await flushAfter(Math.max(loadEnd, heavy.rec.acceptedAt + 1));
    const kernelDrops = dropsSince(drops0);
    const received = sink.totals('fl').counterSum;
    const updates = heavy.parsed.byPrefix.get('fk')?.counterSum ?? 0;
    const peak = memoryStatus(d.pid)?.peakRssBytes ?? null;
    const perKey = (a: number | null, b2: number | null, n: number): number | null =>
      a === null || b2 === null || n === 0 ? null : (b2 - a) / n;
    const heavyRec = heavy.rec;
    const hp = heavy.parsed;
    const fk = hp.byPrefix.get('fk');
    return {
      label: o.label ?? '',
      overflow:
        ov === null || overflowSent === null
          ? null
          : {
              timers: ov.timers,
              ...overflowSent,
              minValuesPerKey: ov.minValuesPerKey,
              counted: fk?.timerCountSum ?? 0,
              expected: o.timerKeys + overflowSent.sentLines,
              keysPastReservoir: fk?.timerKeysPastReservoir ?? 0,
            },
      flushInterval: FI,
      grantedRecvBuffer: d.grantedRecvBuffer,
      liveCounterKeys,
      liveTimerKeys,
      rssIdleBytes: rssIdle,
      rssCountersBytes: rssCounters,
      rssTimersBytes: rssTimers,
      peakRssBytes: peak,
      bytesPerCounterKey: perKey(rssIdle, rssCounters, liveCounterKeys),
      rssWindowMs,
      bytesPerTimerKey: perKey(rssCounters, rssTimers, liveTimerKeys),
      populate,
      heavy: {
        lines: hp.lines,
        bytes: heavyRec.bytes,
        counterUpdates: updates,
        tickToLastByteMs: heavyRec.endAt - hp.ts * 1000,
        tickToConnectMs: heavyRec.acceptedAt - hp.ts * 1000,
        transferMs: heavyRec.endAt - heavyRec.firstByteAt,
        processingTimeMs: internal(hp.internal, 'stats.statsd.processing_time'),
        calculationTimeMs: internal(hp.internal, 'stats.statsd.graphiteStats.calculationtime'),
        flushTimeMs: internal(next.parsed.internal, 'stats.statsd.graphiteStats.flush_time'),
        flushLength: internal(next.parsed.internal, 'stats.statsd.graphiteStats.flush_length'),
        numStats: internal(hp.internal, 'statsd.numStats', 'stats.statsd.numStats'),
      },
      notes,
      load: {
        linesPerSec: b.linesPerSec,
        packetsPerSec: b.packetsPerSec,
        sent: b.sentCounterLines,
        received,
        ok: isNoLoss(b.sentCounterLines, received),
        kernelDrops,
        cpuCores,
      },
    };
  } finally {
    await d.stop();
    sink.forgetOld(0);
  }
}
