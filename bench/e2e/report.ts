/**
 * The bench's report: Markdown tables (readable in a terminal, pasteable into RESULTS.md) with the
 * ratios to the same run's baselines and the issue's targets.
 */
import { LOSS_TOLERANCE } from './knee.js';
import type { FlushRun, KneeRun } from './scenarios.js';

export const TARGETS = {
  /** tallyd's single-line knee ≥ this × the bare receiver's. */
  singleRatio: 0.9,
  /** tallyd's 25-line knee, lines/s. */
  multiLinesPerSec: 1_500_000,
  /** Share of multiLinesPerSec offered while a 1M-key flush runs. */
  flushLoadShare: 0.5,
  /** CPU of the heavy flush (aggregate: processing_time, + Graphite payload: calculationtime), ms. */
  flushCpuMs: 1000,
  /** RSS per live counter key, bytes. */
  counterKeyBytes: 300,
  /** RSS per live timer key: reservoirSize × 8 + this, bytes. */
  timerKeyOverhead: 300,
  /** The daemon's reservoirSize in the bench (the default). */
  reservoirSize: 1024,
} as const;

export interface Report {
  date: string;
  nproc: number;
  cpuModel: string;
  node: string;
  kernel: string;
  compiler: string;
  rmemMax: number | null;
  recvBufferRequested: number;
  quick: boolean;
  stepSeconds: number;
  factor: number;
  knees: { scenario: 'single' | 'multi'; run: KneeRun }[];
  flush: FlushRun | null;
  /** The flush with timers past their reservoirs (issue 10): histogram on, then off. */
  overflow: FlushRun[];
  originalPath: string | null;
  notes: string[];
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mib = (b: number | null): string => (b === null ? '?' : `${(b / 1048576).toFixed(1)} MiB`);
const ms = (v: number | null): string => (v === null ? '?' : `${int(v)} ms`);
const pct = (sent: number, received: number): string => (sent > 0 ? `${(((sent - received) / sent) * 100).toFixed(4)} %` : '?');
const verdict = (ok: boolean): string => (ok ? '**PASS**' : '**MISS**');

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  return [line(head), '| ' + w.map((n) => '-'.repeat(n)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}

/** The knee as printed: "≥" when a bound, not loss, ended the climb. */
function kneeText(run: KneeRun, perPacket: number): string {
  const k = run.result.knee;
  if (k === null) return 'none clean';
  return (run.result.limitedBy === 'loss' ? '' : '≥ ') + int(k * perPacket);
}

export function renderReport(r: Report): { text: string; missed: number } {
  const out: string[] = [];
  let missed = 0;
  out.push('# tallyd end-to-end bench', '');
  out.push(`- date ${r.date}; nproc ${r.nproc}; CPU ${r.cpuModel}; node ${r.node}; Linux ${r.kernel}; ${r.compiler}`);
  const granted = r.knees.find((k) => k.run.grantedRecvBuffer !== null)?.run.grantedRecvBuffer ?? r.flush?.grantedRecvBuffer ?? null;
  out.push(
    `- UDP receive buffer: requested ${mib(r.recvBufferRequested)}, granted ${mib(granted)} as SO_RCVBUF reports it ` +
      `(Linux doubles the usable size); net.core.rmem_max ${mib(r.rmemMax)}`,
  );
  out.push(
    `- knees: rate steps ×${r.factor}, ${r.stepSeconds} s each${r.quick ? ' (--quick)' : ''}; a step is clean when ` +
      `received ≥ sent × (1 − ${LOSS_TOLERANCE}); a lossy step is retried once. "≥" marks a knee bounded by the ` +
      `generator or the time budget rather than by loss. A target is judged on the knee step's offered rate when the ` +
      `generator achieved it within 0.1 % (its pacing precision).`,
  );
  out.push('- absolute figures on a shared machine are noisy: compare the ratios, measured in the same run.', '');

  if (r.knees.length > 0) {
    out.push('## Zero-loss knees', '');
    const rows: string[][] = [];
    for (const scenario of ['single', 'multi'] as const) {
      const runs = r.knees.filter((k) => k.scenario === scenario);
      const bare = runs.find((k) => k.run.who === 'bare')?.run;
      for (const { run } of runs) {
        const k = run.result.knee;
        const lines = run.shape.lines;
        let ratio = '';
        if (bare !== undefined && bare.result.knee !== null && k !== null) ratio = (k / bare.result.knee).toFixed(3);
        let target = '';
        if (run.who === 'tallyd' && scenario === 'single') {
          const ok = bare?.result.knee != null && k !== null && k >= TARGETS.singleRatio * bare.result.knee;
          if (!ok) missed++;
          target = `≥ ${TARGETS.singleRatio} × bare: ${verdict(ok)}`;
        } else if (run.who === 'tallyd' && scenario === 'multi') {
          // the knee step's offered rate when the generator achieved it within 0.1 % (its pacing precision)
          const st = run.result.kneeStep;
          const offered = st !== null && st.achievedRate >= 0.999 * st.targetRate ? Math.max(st.targetRate, k ?? 0) : k;
          const ok = offered !== null && offered * lines >= TARGETS.multiLinesPerSec;
          if (!ok) missed++;
          target = `≥ ${int(TARGETS.multiLinesPerSec)} lines/s: ${verdict(ok)}`;
        }
        rows.push([
          scenario === 'single' ? '1 line/packet, counters' : '25 lines/packet, c+ms',
          run.who === 'statsd' ? 'original statsd' : run.who,
          kneeText(run, 1),
          kneeText(run, lines),
          run.result.kneeStep?.cpuCores?.toFixed(2) ?? '?',
          mib(run.peakRssBytes),
          run.result.limitedBy,
          ratio,
          target,
        ]);
      }
    }
    out.push(
      table(['load', 'receiver', 'knee pkt/s', 'knee lines/s', 'CPU cores at knee', 'peak RSS', 'ended by', '× bare', 'target'], rows),
      '',
    );
  }

  const f = r.flush;
  if (f !== null) {
    const h = f.heavy;
    out.push(
      `## Flush: ${int(f.liveCounterKeys)} live counter keys + ${int(f.liveTimerKeys)} live timer keys, each updated once in the interval (flushInterval ${f.flushInterval / 1000} s)`,
      '',
    );
    const loadOk = f.load.ok;
    if (!loadOk) missed++;
    const cpu = h.processingTimeMs !== null && h.calculationTimeMs !== null ? h.processingTimeMs + h.calculationTimeMs : null;
    const cpuOk = cpu !== null && cpu < TARGETS.flushCpuMs;
    if (!cpuOk) missed++;
    out.push(
      table(
        ['measure', 'value'],
        [
          ['payload', `${int(h.lines)} lines, ${mib(h.bytes)}${h.numStats !== null ? `, numStats ${int(h.numStats)}` : ''}`],
          ['counter updates carried (1 per key sent in its interval)', `${int(h.counterUpdates)} of ${int(f.liveCounterKeys)}`],
          ['flush tick → last byte at Graphite', ms(h.tickToLastByteMs)],
          ['flush tick → Graphite connection', ms(h.tickToConnectMs)],
          ['first → last byte', ms(h.transferMs)],
          ['processing_time (as sent)', ms(h.processingTimeMs)],
          ['graphiteStats.calculationtime (as sent)', ms(h.calculationTimeMs)],
          [`flush CPU: processing_time + calculationtime < ${int(TARGETS.flushCpuMs)} ms`, `${ms(cpu)} → ${verdict(cpuOk)}`],
          [
            'graphiteStats.flush_time / flush_length (next flush)',
            `${ms(h.flushTimeMs)} / ${h.flushLength === null ? '?' : int(h.flushLength)} bytes`,
          ],
          [
            `ingest across that flush (${Math.round(TARGETS.flushLoadShare * 100)} % of ${int(TARGETS.multiLinesPerSec)} lines/s)`,
            `${int(f.load.linesPerSec)} lines/s offered (${int(f.load.packetsPerSec)} pkt/s of 25 lines), daemon CPU ${f.load.cpuCores?.toFixed(2) ?? '?'} cores`,
          ],
          [
            'counter lines sent / received',
            `${int(f.load.sent)} / ${int(f.load.received)}: loss ${pct(f.load.sent, f.load.received)}, kernel drops ${f.load.kernelDrops ?? '?'} → ${verdict(loadOk)}`,
          ],
        ],
      ),
      '',
    );
    out.push(`## Memory (VmRSS, lowest over ${(f.rssWindowMs / 1000).toFixed(1)} s after a flush: the steady state between flushes)`, '');
    const cOk = f.bytesPerCounterKey !== null && f.bytesPerCounterKey < TARGETS.counterKeyBytes;
    const tLimit = TARGETS.reservoirSize * 8 + TARGETS.timerKeyOverhead;
    const tOk = f.bytesPerTimerKey !== null && f.bytesPerTimerKey < tLimit;
    if (!cOk) missed++;
    if (!tOk) missed++;
    const delta = (a: number | null, b: number | null): string => (a === null || b === null ? '?' : `+${mib(b - a)}`);
    out.push(
      table(
        ['state', 'RSS', 'growth', 'per key', 'target'],
        [
          ['idle daemon', mib(f.rssIdleBytes), '', '', ''],
          [
            `+ ${int(f.liveCounterKeys)} counter keys`,
            mib(f.rssCountersBytes),
            delta(f.rssIdleBytes, f.rssCountersBytes),
            f.bytesPerCounterKey === null ? '?' : `${int(f.bytesPerCounterKey)} bytes`,
            `< ${TARGETS.counterKeyBytes} B: ${verdict(cOk)}`,
          ],
          [
            `+ ${int(f.liveTimerKeys)} timer keys`,
            mib(f.rssTimersBytes),
            delta(f.rssCountersBytes, f.rssTimersBytes),
            f.bytesPerTimerKey === null ? '?' : `${int(f.bytesPerTimerKey)} bytes`,
            `< ${int(tLimit)} B: ${verdict(tOk)}`,
          ],
          ['peak (VmHWM), whole scenario', mib(f.peakRssBytes), '', '', ''],
        ],
      ),
      '',
    );
    for (const n of f.notes) out.push(`- ${n}`);
    out.push(`populating: ${f.populate.map((p) => `${int(p.lines)} lines in ${p.seconds.toFixed(1)} s`).join('; ')}`, '');
  }

  if (r.overflow.length > 0) {
    const first = r.overflow[0]!;
    const ovT = first.overflow?.timers ?? 0;
    out.push(
      `## Flush with ${int(ovT)} timers past their reservoirs: ${int(first.liveCounterKeys)} counter keys + ${int(first.liveTimerKeys)} timer keys updated in the interval, ${int(ovT)} of the timers with over ${int(TARGETS.reservoirSize)} values each (flushInterval ${first.flushInterval / 1000} s)`,
      '',
    );
    const col = (f: (run: FlushRun) => string): string[] => r.overflow.map(f);
    const cpuOf = (run: FlushRun): number | null =>
      run.heavy.processingTimeMs !== null && run.heavy.calculationTimeMs !== null
        ? run.heavy.processingTimeMs + run.heavy.calculationTimeMs
        : null;
    const rows: string[][] = [
      [
        'overflow values sent (tally-blast, UDP)',
        ...col((x) =>
          x.overflow === null
            ? '?'
            : `${int(x.overflow.sentLines)} in ${x.overflow.seconds.toFixed(1)} s (${int(x.overflow.linesPerSec)} lines/s), ≥ ${int(x.overflow.minValuesPerKey)} per key; daemon CPU ${x.overflow.cpuCores?.toFixed(2) ?? '?'} cores, kernel drops ${x.overflow.kernelDrops ?? '?'}`,
        ),
      ],
      [
        'timer values counted in the heavy flush / sent',
        ...col((x) =>
          x.overflow === null
            ? '?'
            : `${int(x.overflow.counted)} / ${int(x.overflow.expected)}: loss ${pct(x.overflow.expected, x.overflow.counted)}`,
        ),
      ],
      ['timer keys past their reservoir in that flush', ...col((x) => int(x.overflow?.keysPastReservoir ?? 0))],
      ['payload', ...col((x) => `${int(x.heavy.lines)} lines, ${mib(x.heavy.bytes)}`)],
      [
        'processing_time + calculationtime (flush CPU)',
        ...col((x) => `${ms(x.heavy.processingTimeMs)} + ${ms(x.heavy.calculationTimeMs)} = ${ms(cpuOf(x))}`),
      ],
      ['flush tick → last byte at Graphite', ...col((x) => ms(x.heavy.tickToLastByteMs))],
      [
        'ingest across that flush: counter lines sent / received',
        ...col(
          (x) =>
            `${int(x.load.sent)} / ${int(x.load.received)} at ${int(x.load.linesPerSec)} lines/s: loss ${pct(x.load.sent, x.load.received)}, kernel drops ${x.load.kernelDrops ?? '?'}`,
        ),
      ],
      [
        'RSS per timer key (all timers, before the overflow)',
        ...col((x) => (x.bytesPerTimerKey === null ? '?' : `${int(x.bytesPerTimerKey)} bytes`)),
      ],
      ['peak RSS (VmHWM), whole scenario', ...col((x) => mib(x.peakRssBytes))],
    ];
    out.push(table(['measure', ...r.overflow.map((x) => x.label)], rows), '');
    const h = r.overflow.find((x) => x.label.startsWith('histogram'));
    if (h !== undefined) {
      const cpu = cpuOf(h);
      const ok = cpu !== null && cpu < TARGETS.flushCpuMs && h.load.ok;
      if (!ok) missed++;
      out.push(
        `issue 10's flush target (histogram): flush CPU < ${int(TARGETS.flushCpuMs)} ms and no ingest loss across it → ${verdict(ok)}`,
        '',
      );
    }
    for (const x of r.overflow) for (const n of x.notes) out.push(`- ${x.label}: ${n}`);
  }

  for (const n of r.notes) out.push(`- ${n}`);
  out.push(`targets missed: ${missed}`);
  return { text: out.join('\n'), missed };
}
