/**
 * What the status page costs ingest. The same steady UDP load (the project's own generator) is sent
 * to daemons that differ only in the status page:
 *   - off:     statusPage.enabled false (the baseline);
 *   - idle:    the page's server on, nobody looking;
 *   - viewing: a client doing what an open page does (GET /api/status every 2 s, /api/keys every 0.5 s);
 *   - polling: a control: the same requests' rate to /health (HTTP without the API's work);
 *   - with --before <dist>: before-off and before-viewing, the same two on another build (a checkout's
 *     dist/), for an A/B of a change in the same run.
 * The daemons start once and stay up (warmed by a first round that is not counted). In each round
 * every daemon gets its own generator at the same rate **at the same time**: on a shared machine the
 * CPU a line costs moves by ±25 % from one moment to the next (other work, the batching of recvmmsg
 * that follows from it), and daemons measured side by side see the same moment. Each round measures
 * every daemon's CPU per million lines received (sent minus the kernel's drops on its port). The
 * report gives every round, the medians, and the median of the per-round ratios (each mode against its
 * own build's `off` of the same round). Targets: idle within noise, viewing ≤ 1.02 ×.
 * Then the page's parts, measured apart where the noise of a whole daemon does not hide them: the CPU
 * per API request, and (in this process, alternating rounds) the ns a line costs while lines per key
 * are counted; with the baseline's CPU per line they give what an open page costs at this rate.
 *
 *   npm run build && node dist/bench/status.bench.js [--rounds 9] [--seconds 5] [--rate 30000] [--lines 10]
 *     [--before /path/to/other/checkout/dist]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SAMPLE_SHARE } from '../src/status/collector.js';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { cpuSeconds, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

type Mode = 'off' | 'idle' | 'viewing' | 'polling' | 'before-off' | 'before-viewing';

interface Running {
  child: ChildProcess;
  udp: number;
  status: string | null;
}

/** Set once the daemons are being stopped (an exit before is reported). */
let stopping = false;

async function start(mainJs: string, page: boolean): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-status-bench-'));
  const file = join(dir, 'c.json');
  // no backends: what is measured is ingest (and the page), not a backend's formatting
  writeFileSync(
    file,
    JSON.stringify({
      port: 0,
      address: '127.0.0.1',
      mgmt_port: 0,
      flushInterval: 1000,
      backends: [],
      udpRecvBuffer: 16 * 1024 * 1024,
      statusPage: { enabled: page, port: 0 },
    }),
  );
  const child = trackChild(spawn(process.execPath, [mainJs, file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
  child.on('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(`status bench: tallyd (${mainJs}) exited (${code ?? signal}) during the run:\n${err.slice(-4000)}\n`);
  });
  for (let i = 0; i < 300; i++) {
    const line = err.split('\n').find((l) => l.includes('tallyd is up'));
    if (line) {
      const up = JSON.parse(line) as { listeners: string[]; status?: string };
      const udp = up.listeners.find((l) => l.startsWith('udp '))!;
      return { child, udp: Number(udp.slice(udp.lastIndexOf(':') + 1)), status: up.status ?? null };
    }
    await sleep(50);
  }
  throw new Error(`tallyd (${mainJs}) did not start:\n${err}`);
}

/** What an open page does: /api/status every 2 s and a key search every 0.5 s (or /health as often: `control`). */
async function viewer(base: string, until: () => boolean, control: boolean): Promise<void> {
  let n = 0;
  while (!until()) {
    try {
      if (n % 4 === 0) await (await fetch(base + (control ? 'health' : 'api/status'))).arrayBuffer();
      await (await fetch(base + (control ? 'health' : 'api/keys?q=blast.c1'))).arrayBuffer();
    } catch (err) {
      process.stderr.write(`status bench: ${base}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})\n`);
      await sleep(1000);
    }
    n++;
    await sleep(500);
  }
}

/** Datagrams the kernel dropped on a UDP port (the drops column of /proc/net/udp), or 0 where unreadable. */
function udpDrops(port: number): number {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'latin1');
  } catch {
    return 0;
  }
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 12 && f[1]!.endsWith(hex)) drops += Number(f[f.length - 1]);
  }
  return drops;
}

/** One round: every daemon blasted at once; each one's CPU ms per million lines received. */
async function round(
  blast: string,
  ds: Array<{ d: Running; viewing: boolean; control: boolean }>,
  o: { seconds: number; rate: number; lines: number },
  r: number,
): Promise<number[]> {
  let done = false;
  // a page that was open before the blast and stays open through it
  for (const { d, viewing, control } of ds) if (viewing && !control) await (await fetch(d.status + 'api/status')).arrayBuffer();
  const views = ds.map(({ d, viewing, control }) => (viewing ? viewer(d.status!, () => done, control) : Promise.resolve()));
  await sleep(200);
  const cpu0 = ds.map(({ d }) => cpuSeconds(d.child.pid!)!);
  const drops0 = ds.map(({ d }) => udpDrops(d.udp));
  // the generators start in an order rotated per round (the first one started gets a head start)
  const order = ds.map((_, i) => (i + r) % ds.length);
  const started = new Array<Promise<Awaited<ReturnType<typeof runBlast>>>>(ds.length);
  for (const i of order) {
    started[i] = runBlast(blast, {
      port: ds[i]!.d.udp,
      rate: o.rate,
      seconds: o.seconds,
      lines: o.lines,
      keys: 1000,
      mix: 'ct',
      prefix: 'blast',
    });
  }
  const sent = await Promise.all(started);
  await sleep(300); // the sockets' backlog read
  const out = ds.map(({ d }, i) => {
    const cpu = cpuSeconds(d.child.pid!)! - cpu0[i]!;
    const received = sent[i]!.sentLines - (udpDrops(d.udp) - drops0[i]!) * o.lines;
    return (cpu / Math.max(1, received)) * 1e9;
  });
  done = true;
  await Promise.all(views);
  return out;
}

/**
 * The page's own work, measured apart (each part is small against the noise of a whole daemon on a
 * shared machine, so it is measured where it can be seen): CPU ms per API request of an open page's
 * mix (2 key searches and half a /api/status a second), on a daemon holding the blast's keys.
 */
async function cpuPerRequest(d: Running): Promise<number> {
  const quiet0 = cpuSeconds(d.child.pid!)!;
  await sleep(2000);
  const background = (cpuSeconds(d.child.pid!)! - quiet0) / 2; // CPU s per s with no request (flushes)
  const t0 = performance.now();
  const c0 = cpuSeconds(d.child.pid!)!;
  let n = 0;
  for (let i = 0; i < 400; i++) {
    await (await fetch(d.status + (i % 5 === 4 ? 'api/status' : 'api/keys?q=blast.c1'))).arrayBuffer();
    n++;
  }
  const secs = (performance.now() - t0) / 1000;
  return (Math.max(0, cpuSeconds(d.child.pid!)! - c0 - background * secs) / n) * 1000;
}

/**
 * The per-line count while a page is open (Aggregator.setStatusHits), in one process: two aggregators
 * of one build fed the blast's packets (10 lines over 1,000 counter and timer keys) in alternating
 * short rounds, one counting, one not; the median of the per-round differences, ns per line, and the
 * median ns per line without counting.
 */
async function perLineCount(dist: string, rounds: number): Promise<{ extraNs: number; lineNs: number }> {
  const at = (f: string): string => pathToFileURL(join(dist, f)).href;
  const { Aggregator } = await import(at('src/aggregator/aggregator.js'));
  const { validateConfig } = await import(at('src/config/index.js'));
  const { parsePacket } = await import(at('src/parser/scanner.js'));
  const { Sample } = await import(at('src/parser/types.js'));
  const config = { ...validateConfig({}).config, servers: [], mgmtPort: 0, backends: [] };
  const on = new Aggregator({ config });
  const off = new Aggregator({ config });
  on.setStatusHits(true);
  const packets: Buffer[] = [];
  let k = 0;
  for (let p = 0; p < 4000; p++) {
    const lines: string[] = [];
    for (let l = 0; l < 10; l++, k++) lines.push(k % 2 === 0 ? `blast.c${k % 1000}:1|c` : `blast.t${k % 1000}:${k % 97}|ms`);
    packets.push(Buffer.from(lines.join('\n')));
  }
  const s = new Sample();
  let now = 0;
  const run = (agg: typeof on): number => {
    const c0 = process.cpuUsage();
    let lines = 0;
    for (const p of packets) {
      const n = parsePacket(p, 0, p.length, agg, s);
      agg.countPacket(n);
      lines += n;
    }
    const c = process.cpuUsage(c0);
    agg.flush((now += 1000)); // (not timed)
    if (agg === on) on.takeStatusHits(20);
    return ((c.user + c.system) * 1000) / lines;
  };
  for (let i = 0; i < 20; i++) run(i % 2 === 0 ? on : off); // warm-up
  const diffs: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // alternate which goes first
    const a = r % 2 === 0 ? run(on) : NaN;
    const b = run(off);
    const c = r % 2 === 0 ? a : run(on);
    diffs.push(c - b);
    base.push(b);
  }
  return { extraNs: med(diffs), lineNs: med(base) };
}

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '30000' },
      lines: { type: 'string', default: '10' },
      before: { type: 'string' },
      modes: { type: 'string' },
    },
  });
  const o = { seconds: Number(values.seconds), rate: Number(values.rate), lines: Number(values.lines) };
  const root = repoRoot();
  const blast = buildLoadgen(root);
  const here = join(root, 'dist', 'src', 'main.js');
  const before = values.before === undefined ? null : join(resolve(values.before), 'src', 'main.js');
  const all: Mode[] =
    before === null ? ['off', 'idle', 'viewing', 'polling'] : ['off', 'idle', 'viewing', 'polling', 'before-off', 'before-viewing'];
  // --modes a,b: only these (fewer daemons side by side: less load on a small machine)
  const modes = values.modes === undefined ? all : all.filter((m) => values.modes!.split(',').includes(m));
  const daemons = new Map<Mode, Running>();
  try {
    for (const m of modes) daemons.set(m, await start(m.startsWith('before') ? before! : here, m !== 'off' && m !== 'before-off'));
    const results = Object.fromEntries(all.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
    const rounds = Number(values.rounds);
    for (let r = -1; r < rounds; r++) {
      // round -1 warms every daemon up (JIT, key tables) and is not counted
      const xs = await round(
        blast,
        modes.map((m) => ({ d: daemons.get(m)!, viewing: m.endsWith('viewing') || m === 'polling', control: m === 'polling' })),
        o,
        Math.max(0, r),
      );
      if (r >= 0) for (let i = 0; i < modes.length; i++) results[modes[i]!].push(xs[i]!);
    }
    const baseOf = (m: Mode): Mode => (m.startsWith('before') ? 'before-off' : 'off');
    const out: string[] = [];
    out.push(
      `## Status page cost: ${rounds} rounds of ${o.seconds} s, ${modes.length} daemons side by side, each at ${o.rate} packets/s × ${o.lines} lines${before === null ? '' : ` (before: ${before})`}`,
      '',
    );
    out.push(
      '| mode | CPU ms per million lines received (median) | all rounds | × baseline (medians) | × baseline (median of per-round ratios) |',
    );
    out.push('|---|---|---|---|---|');
    const paired = (m: Mode): number =>
      results[baseOf(m)].length === 0 || results[m].length === 0 ? NaN : med(results[m].map((x, i) => x / results[baseOf(m)][i]!));
    for (const m of modes) {
      const xs = results[m];
      out.push(
        `| ${m} | ${med(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(med(xs) / med(results[baseOf(m)] ?? [NaN])).toFixed(3)} | ${paired(m).toFixed(3)} |`,
      );
    }
    const idle = paired('idle');
    const viewing = paired('viewing');
    if (results.off.length > 0) {
      out.push(
        '',
        `Verdict (per-round ratios): idle ${idle.toFixed(3)} × (target: within noise, ≤ 1.02), viewing ${viewing.toFixed(3)} × (target ≤ 1.02): ${!(idle > 1.02) && !(viewing > 1.02) ? 'met' : 'MISSED'}.`,
      );
    }
    if (before !== null && results.viewing.length > 0 && results['before-viewing'].length > 0) {
      const vv = med(results.viewing.map((x, i) => x / results['before-viewing'][i]!));
      out.push(
        `Before: viewing ${paired('before-viewing').toFixed(3)} ×; viewing now ÷ viewing before, median of per-round ratios: ${vv.toFixed(3)} ×.`,
      );
    }
    // the parts, measured apart, against the baseline daemon's CPU per line of this run
    if (daemons.has('off') && daemons.has('viewing')) {
      const linesPerSec = o.rate * o.lines;
      const ingestMsPerSec = (med(results.off) / 1e6) * linesPerSec; // CPU ms per s of ingest, no page
      const reqMs = await cpuPerRequest(daemons.get('viewing')!);
      const reqPerSec = 2.5;
      const share = SAMPLE_SHARE;
      const count = await perLineCount(join(root, 'dist'), 200);
      const pageMs = (x: { extraNs: number }, shareOfTime: number): number =>
        x.extraNs * 1e-6 * linesPerSec * shareOfTime + reqMs * reqPerSec;
      out.push(
        '',
        '### The parts, measured apart',
        '',
        '| part | measured | CPU ms per s at ' + linesPerSec + ' lines/s |',
        '|---|---|---|',
        `| ingest without the page (the \`off\` median above) | ${med(results.off).toFixed(1)} ms per million lines | ${ingestMsPerSec.toFixed(1)} |`,
        `| API requests of an open page (${reqPerSec}/s) | ${reqMs.toFixed(3)} ms each | ${(reqMs * reqPerSec).toFixed(2)} |`,
        `| counting lines per key, in-process (${count.lineNs.toFixed(1)} ns per line without) | +${count.extraNs.toFixed(2)} ns per line counted | ${(count.extraNs * 1e-6 * linesPerSec).toFixed(2)} all the time, ${(count.extraNs * 1e-6 * linesPerSec * share).toFixed(2)} in a ${share * 100} % window |`,
      );
      const withPage = 1 + pageMs(count, share) / ingestMsPerSec;
      out.push(
        '',
        `An open page costs (requests + counting in the sample window) / ingest: ${withPage.toFixed(3)} × (target ≤ 1.02); counting all the time, as before the sample window: ${(1 + pageMs(count, 1) / ingestMsPerSec).toFixed(3)} ×.`,
      );
      if (before !== null) {
        const b = await perLineCount(resolve(values.before!), 200);
        out.push(`The --before build's count, in-process: +${b.extraNs.toFixed(2)} ns per line (${b.lineNs.toFixed(1)} without).`);
      }
    }
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    stopping = true;
    for (const d of daemons.values()) await stopChild(d.child);
  }
}

main().catch((err) => {
  killAllChildren();
  process.stderr.write(`status bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
