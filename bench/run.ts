/**
 * `npm run bench`: the end-to-end benchmark. Builds the load generator, then measures, each against
 * a baseline in the same run:
 *   1. single-line packets: the zero-loss knee of tallyd vs a bare Node dgram receiver;
 *   2. 25-line packets (half counters, half timers): the knee in lines/s;
 *   3. the flush of 1M counter keys + 100k timer keys: its duration, and ingest loss while it runs;
 *   4. memory per live counter key and per live timer key;
 *   5. (overflow) issue 10's case: the same flush with 10,000 of the timer keys past their reservoirs
 *      (over 1,024 values each in the interval, sent over UDP by tally-blast), once with the exponential
 *      histogram (the default) and once with `timerHistogram: false`, flush CPU and ingest loss of both;
 *   6. with TALLYD_BENCH_ORIGINAL=/path/to/statsd/stats.js, the original statsd's knees too.
 * Everything runs on 127.0.0.1, is bounded in time, and every child is killed on exit.
 *
 *   node dist/bench/run.js [--quick] [--only single,multi,flush,overflow,original] [--json FILE] [--micro] [--strict]
 *                          [--daemon-root DIR]
 * bench/compare.ts runs this for two builds alternately (before/after in the same run).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startOriginal, startTallyd } from './e2e/daemon.js';
import { GraphiteSink } from './e2e/graphite-sink.js';
import { type KneeOptions, ladderStart } from './e2e/knee.js';
import { BenchSetupError, buildLoadgen, compilerVersion } from './e2e/loadgen.js';
import { killAllChildren, repoRoot, rmemMax } from './e2e/proc.js';
import { type Report, renderReport, TARGETS } from './e2e/report.js';
import { type BenchContext, bareKnee, daemonKnee, flushScenario, type LoadShape } from './e2e/scenarios.js';

const USAGE = `usage: node dist/bench/run.js [options]     (or: npm run bench -- [options])

  --quick              bigger rate steps, 2 s per step, half the keys (about 2 minutes instead of about 6,
                       plus about 10 instead of 14 for the overflow scenario)
  --only LIST          comma-separated scenarios: single, multi, flush, overflow, original (default: all;
                       original runs only when TALLYD_BENCH_ORIGINAL=/path/to/statsd/stats.js is set;
                       overflow: the flush with 10,000 timers past their reservoirs, histogram on vs off)
  --json FILE          also write every measurement as JSON
  --micro              afterwards, run the micro benches (parser, aggregator, prometheus)
  --strict             exit 3 when a target is missed
  --daemon-root DIR    measure the tallyd built in DIR (DIR/dist/src/main.js) instead of this checkout's
                       (the bench code and load generator stay this checkout's; see bench/compare.ts)
  -h, --help           this text

environment: TALLYD_BENCH_ORIGINAL  the original statsd's stats.js, to measure it too
             TALLYD_LOADGEN_SRC     the load generator source (default: bench/loadgen/tally-blast.c)
             CC                     the C compiler (default: cc)`;

const SINGLE: LoadShape = { lines: 1, mix: 'c', keys: 1000 };
const MULTI: LoadShape = { lines: 25, mix: 'ct', keys: 1000 };
/** Requested SO_RCVBUF, for tallyd and the bare receiver alike (the kernel caps it at rmem_max). */
const RECV_BUFFER = 32 * 1024 * 1024;
/** Flush interval of the knee runs (short, so that each step's counts arrive quickly). */
const KNEE_FLUSH_INTERVAL = 1000;

interface Plan {
  quick: boolean;
  stepSeconds: number;
  knee: Omit<KneeOptions, 'startRate'>;
  bareSingleStart: number;
  bareMultiStart: number;
  flushInterval: number;
  counterKeys: number;
  timerKeys: number;
  /** The overflow scenario: timer keys past their reservoirs, values each, their send rate, its flush interval. */
  overflowTimers: number;
  overflowValues: number;
  overflowLinesPerSec: number;
  overflowFlushInterval: number;
}

function plan(quick: boolean): Plan {
  return {
    quick,
    stepSeconds: quick ? 2 : 4,
    knee: quick
      ? { factor: 1.5, maxRate: 2_000_000, minRate: 500, maxSteps: 8, budgetMs: 30_000, refine: 0 }
      : { factor: 1.25, maxRate: 2_000_000, minRate: 500, maxSteps: 14, budgetMs: 100_000, refine: 1 },
    bareSingleStart: quick ? 50_000 : 40_000,
    bareMultiStart: quick ? 20_000 : 16_000,
    flushInterval: quick ? 10_000 : 15_000,
    counterKeys: quick ? 500_000 : 1_000_000,
    timerKeys: quick ? 50_000 : 100_000,
    overflowTimers: quick ? 5_000 : 10_000,
    // ~1,500 values per key: past the 1,024-value reservoir even when a quarter is lost on a loaded machine
    overflowValues: 1_500,
    overflowLinesPerSec: 600_000,
    // room for every key's update (~5.5 s) and the overflow values (~26 s at 600k lines/s) in one interval
    overflowFlushInterval: 45_000,
  };
}

function installCleanup(): void {
  process.on('exit', () => killAllChildren());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killAllChildren();
      process.stderr.write(`\nbench: ${sig}, children stopped\n`);
      process.exit(130);
    });
  }
}

async function runMicro(): Promise<void> {
  for (const name of ['parser', 'aggregator', 'prometheus']) {
    let mod: { main?: () => unknown };
    try {
      mod = (await import(`./${name}.bench.js`)) as { main?: () => unknown };
    } catch (err) {
      console.log(`\n(micro bench ${name}: not available: ${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    if (typeof mod.main !== 'function') continue;
    console.log(`\n## micro bench: ${name}\n`);
    await mod.main();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
      micro: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      'daemon-root': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const all = ['single', 'multi', 'flush', 'overflow', 'original'];
  const only = new Set(
    (values.only ?? all.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const s of only) {
    if (!all.includes(s)) {
      console.error(`bench: unknown scenario '${s}' (one of ${all.join(', ')})\n\n${USAGE}`);
      return 2;
    }
  }
  if (os.platform() !== 'linux') {
    console.error('bench: Linux only (it reads /proc for CPU, memory and UDP drops)');
    return 2;
  }
  installCleanup();
  const p = plan(values.quick);
  const root = repoRoot();
  /** Where the measured tallyd is built (another checkout's for a before/after comparison). */
  const daemonRoot = values['daemon-root'] === undefined ? root : resolve(values['daemon-root']);
  const started = Date.now();
  const log = (msg: string): void => {
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
  };

  let blastBin: string;
  try {
    blastBin = buildLoadgen(root);
  } catch (err) {
    if (err instanceof BenchSetupError) {
      console.error(`bench: ${err.message}`);
      return 1;
    }
    throw err;
  }
  log(`load generator: ${blastBin}`);

  const sink = new GraphiteSink();
  await sink.listen();
  const ctx: BenchContext = { blastBin, sink, recvBuffer: RECV_BUFFER, stepSeconds: p.stepSeconds, log };
  const cpus = os.cpus();
  const report: Report = {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    compiler: await compilerVersion(),
    rmemMax: rmemMax(),
    recvBufferRequested: RECV_BUFFER,
    quick: p.quick,
    stepSeconds: p.stepSeconds,
    factor: p.knee.factor,
    knees: [],
    flush: null,
    overflow: [],
    originalPath: process.env.TALLYD_BENCH_ORIGINAL ?? null,
    notes: [],
  };
  const rmem = report.rmemMax;
  if (rmem !== null && rmem < RECV_BUFFER) {
    const msg =
      `net.core.rmem_max is ${(rmem / 1048576).toFixed(1)} MiB, below the ${RECV_BUFFER / 1048576} MiB receive buffer the targets ` +
      `assume: pauses of more than a few ms will drop packets (raise it: sysctl -w net.core.rmem_max=${RECV_BUFFER})`;
    log(`WARNING: ${msg}`);
    report.notes.push(msg);
  }

  try {
    for (const [name, shape] of [
      ['single', SINGLE],
      ['multi', MULTI],
    ] as const) {
      if (!only.has(name)) continue;
      log(`--- ${name === 'single' ? 'single-line packets' : '25-line packets, half counters half timers'}: bare receiver`);
      const bare = await bareKnee(ctx, shape, { ...p.knee, startRate: name === 'single' ? p.bareSingleStart : p.bareMultiStart });
      report.knees.push({ scenario: name, run: bare });
      // tallyd's ladder passes exactly through its target rate, so one step answers "is the target met".
      const anchor =
        name === 'single' ? TARGETS.singleRatio * (bare.result.knee ?? p.bareSingleStart) : TARGETS.multiLinesPerSec / shape.lines;
      const tallydStart = ladderStart(anchor, p.knee.factor, anchor * 0.35);
      log(`--- ${name}: tallyd`);
      const tallyd = await daemonKnee(
        ctx,
        (o) => startTallyd(daemonRoot, o),
        shape,
        { ...p.knee, startRate: tallydStart },
        KNEE_FLUSH_INTERVAL,
      );
      report.knees.push({ scenario: name, run: tallyd });
    }

    if (only.has('flush')) {
      log('--- flush and memory: tallyd');
      report.flush = await flushScenario(ctx, (o) => startTallyd(daemonRoot, o), {
        counterKeys: p.counterKeys,
        timerKeys: p.timerKeys,
        flushInterval: p.flushInterval,
        loadLinesPerSec: TARGETS.multiLinesPerSec * 0.5,
        populateLinesPerSec: 200_000,
      });
    }

    if (only.has('overflow')) {
      // the same daemon build, histogram on then off (the pure reservoir, as before issue 10)
      for (const on of [true, false]) {
        const label = on ? 'histogram (default)' : 'timerHistogram: false';
        log(`--- flush with ${p.overflowTimers.toLocaleString('en-US')} timers past their reservoirs: tallyd, ${label}`);
        report.overflow.push(
          await flushScenario(ctx, (o) => startTallyd(daemonRoot, o), {
            counterKeys: p.counterKeys,
            timerKeys: p.timerKeys,
            flushInterval: p.overflowFlushInterval,
            loadLinesPerSec: TARGETS.multiLinesPerSec * 0.5,
            populateLinesPerSec: 200_000,
            overflow: { timers: p.overflowTimers, values: p.overflowValues, linesPerSec: p.overflowLinesPerSec },
            extra: { timerHistogram: on },
            label,
          }),
        );
      }
    }

    const original = process.env.TALLYD_BENCH_ORIGINAL;
    if (only.has('original')) {
      if (original === undefined) {
        report.notes.push('original statsd not measured: set TALLYD_BENCH_ORIGINAL=/path/to/statsd/stats.js');
      } else {
        for (const [name, shape] of [
          ['single', SINGLE],
          ['multi', MULTI],
        ] as const) {
          log(`--- ${name}: original statsd (${original})`);
          const run = await daemonKnee(
            ctx,
            (o) => startOriginal(original, o),
            shape,
            { ...p.knee, startRate: name === 'single' ? 5000 : 400 },
            KNEE_FLUSH_INTERVAL,
          );
          report.knees.push({ scenario: name, run });
        }
      }
    }
  } finally {
    await sink.close();
  }

  const { text, missed } = renderReport(report);
  console.log(text);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (values.json !== undefined) {
    writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
    log(`measurements written to ${values.json}`);
  }
  if (values.micro) await runMicro();
  return values.strict && missed > 0 ? 3 : 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (err: unknown) => {
    killAllChildren();
    console.error(`bench: failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(1);
  },
);
