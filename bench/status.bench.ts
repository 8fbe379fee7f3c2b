/**
 * What the status page costs ingest. The same steady UDP load (the project's own generator) is sent
 * to daemons that differ only in the status page:
 *   - off:     statusPage.enabled false (the baseline);
 *   - idle:    the page's server on, nobody looking;
 *   - off-aa:  a second `off` daemon, the A/A control (how far two equal daemons read apart in this run);
 *   - viewing: a client doing what an open page does (see viewer(): /api/status every 2 s, the key search,
 *     a watched key's chart), in the way the build's page does it (long poll or 0.5 s polling);
 *   - polling: a control: the same requests' rate to /health (HTTP without the API's work);
 *   - with --before <dist>: before-off and before-viewing, the same two on another build (a checkout's
 *     dist/), for an A/B of a change in the same run (without before-off, before-viewing is compared
 *     with this build's off: the ingest code is the same unless the change is in it).
 * The daemons start once and stay up (warmed by a first round that is not counted); the pages open
 * once and stay open through every round, as a person's would. In each round
 * every daemon gets its own generator at the same rate **at the same time**: on a shared machine the
 * CPU a line costs moves by ±25 % from one moment to the next (other work, the batching of recvmmsg
 * that follows from it), and daemons measured side by side see the same moment. Each round measures
 * every daemon's CPU per million lines received (sent minus the kernel's drops on its port). The
 * report gives every round, the medians, and the median of the per-round ratios (each mode against its
 * own build's `off` of the same round), and its 25th-75th percentile. Targets: idle within noise,
 * viewing ≤ 1.02 ×. CPU is read from /proc/<pid>/task/<tid>/schedstat (ns, every thread), not the
 * 10 ms ticks of /proc/<pid>/stat (a 5 s round at 400k lines/s is ~110 ticks: 1 % per tick).
 * Then the page's parts, measured apart where the noise of a whole daemon does not hide them: the CPU
 * per request of each endpoint (on a quiet daemon holding the blast's keys) times the rate at which
 * the open page made it, and (in this process, alternating rounds) the ns a line costs while lines
 * per key are counted; with the baseline's CPU per line they give what an open page costs at this rate.
 *
 *   npm run build && node dist/bench/status.bench.js [--rounds 9] [--seconds 5] [--rate 30000] [--lines 10]
 *     [--before /path/to/other/checkout/dist] [--modes off,off-aa,viewing,...] [--swap]
 * --swap measures the viewing cost with twins taking turns instead (see swapRun); --control adds twins
 * whose page asks only /health.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SAMPLE_SHARE } from '../src/status/collector.js';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { cpuSeconds, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

type Mode = 'off' | 'off-aa' | 'idle' | 'viewing' | 'polling' | 'before-off' | 'before-viewing';

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

/**
 * CPU seconds used so far by `pid`, all its threads, from schedstat (ns; threads that exited are not
 * counted: Node's are long-lived); /proc/<pid>/stat's ticks where schedstat is not readable.
 */
function cpuOf(pid: number): number {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
      } catch {
        // (a thread that ended meanwhile)
      }
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // (no schedstat)
  }
  return cpuSeconds(pid)!;
}

type Endpoint = 'status' | 'keys' | 'key' | 'health';
const ENDPOINTS: readonly Endpoint[] = ['status', 'keys', 'key', 'health'];
const endpointOf = (path: string): Endpoint =>
  path.startsWith('api/status') ? 'status' : path.startsWith('api/keys') ? 'keys' : path.startsWith('api/key') ? 'key' : 'health';
/** A request of each endpoint as the page makes it (a search's work is the same whether it waited or not). */
const SAMPLE_PATHS: Record<Endpoint, string> = {
  status: 'api/status?watchType=counter&watchId=blast.c1',
  keys: 'api/keys?q=blast.c1',
  key: 'api/key?type=counter&id=blast.c1',
  health: 'health',
};

/** The key an open page searches for and watches (blast.c1 matches 111 of the blast's counters: 50 are sent). */
const SEARCH = 'blast.c1';

/**
 * What an open page does, as the build's own page script does it (src/status/page.ts):
 *   - /api/status every 2 s (with ?since= when the build's answer has `historyCap`: only new history);
 *   - a watched key's chart: with /api/status (watchType=&watchId=) when the build long-polls, else
 *     /api/key every 2 s;
 *   - the key search: where the build's answer has a `cursor`, a long poll (after=&wait=2000, then
 *     200 ms until the next); else every 500 ms.
 * `control` (the polling mode): the same request rate to /health (HTTP without the API's work).
 */
async function viewer(base: string, until: () => boolean, control: boolean, counts?: Record<Endpoint, number>): Promise<void> {
  const get = async (path: string): Promise<unknown> => {
    const r = await fetch(base + path);
    if (counts !== undefined) counts[endpointOf(path)]++;
    return path === 'health' ? r.arrayBuffer() : r.json();
  };
  const loop = async (fn: () => Promise<number>): Promise<void> => {
    while (!until()) {
      let pause: number;
      try {
        pause = await fn();
      } catch (err) {
        process.stderr.write(`status bench: ${base}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})\n`);
        pause = 1000;
      }
      await sleep(pause);
    }
  };
  if (control) {
    await loop(async () => {
      await get('health');
      return 500;
    });
    return;
  }
  const first = (await get(`api/keys?q=${SEARCH}`)) as { cursor?: number };
  const longPoll = typeof first.cursor === 'number';
  let cursor = first.cursor;
  let since: number | null = null;
  const key = 'api/key?type=counter&id=' + SEARCH;
  await Promise.all([
    loop(async () => {
      // (a long-polling build's page has the watched key's chart come with /api/status)
      const watch = longPoll ? `&watchType=counter&watchId=${SEARCH}` : '';
      const s = (await get('api/status' + (since === null ? '?x=' : `?since=${since}`) + watch)) as {
        historyCap?: number;
        history: { t: number[] };
      };
      if (s.historyCap !== undefined && s.history.t.length > 0) since = s.history.t[s.history.t.length - 1]!;
      return 2000;
    }),
    longPoll
      ? Promise.resolve()
      : loop(async () => {
          await get(key);
          return 2000;
        }),
    loop(async () => {
      if (!longPoll) {
        await get(`api/keys?q=${SEARCH}`);
        return 500;
      }
      cursor = ((await get(`api/keys?q=${SEARCH}&after=${cursor}&wait=2000`)) as { cursor: number }).cursor;
      return 200;
    }),
  ]);
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
  ds: Array<{ d: Running }>,
  o: { seconds: number; rate: number; lines: number },
  r: number,
): Promise<number[]> {
  const cpu0 = ds.map(({ d }) => cpuOf(d.child.pid!));
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
    const cpu = cpuOf(d.child.pid!) - cpu0[i]!;
    const received = sent[i]!.sentLines - (udpDrops(d.udp) - drops0[i]!) * o.lines;
    return (cpu / Math.max(1, received)) * 1e9;
  });
  await sleep(200); // (between rounds)
  return out;
}

/**
 * The page's own work, measured apart (it is small against the noise of a whole daemon on a shared
 * machine, so it is measured where it can be seen): CPU µs per request of each endpoint, on a quiet
 * daemon holding the blast's keys (batches of 100 back to back, the endpoints alternated, median of
 * `batches`; the daemon's CPU with no request, its flushes, subtracted). Times the rate at which the
 * viewer made each request during the rounds, they give the page's CPU per second.
 */
async function requestCosts(ds: Running[], batches: number): Promise<Array<Record<Endpoint, number>>> {
  const per = ds.map((): Record<Endpoint, number[]> => ({ status: [], keys: [], key: [], health: [] }));
  const c0 = ds.map((d) => cpuOf(d.child.pid!));
  const t0 = performance.now();
  await sleep(2000);
  const secs0 = (performance.now() - t0) / 1000;
  const background = ds.map((d, i) => (cpuOf(d.child.pid!) - c0[i]!) / secs0); // CPU s per s (flushes)
  // batch -1 warms the handlers up (a page's few hundred requests during the rounds may not have) and is not counted
  for (let b = -1; b < batches; b++) {
    for (const e of ENDPOINTS) {
      for (let j = 0; j < ds.length; j++) {
        const i = (j + Math.max(0, b)) % ds.length; // (the first of a pair alternates)
        const d = ds[i]!;
        // the page's ?since= is the last point it has: a flush or two ago
        const path = e === 'status' ? `${SAMPLE_PATHS.status}&since=${Date.now() - 1500}` : SAMPLE_PATHS[e];
        const t = performance.now();
        const c = cpuOf(d.child.pid!);
        for (let k = 0; k < 100; k++) await (await fetch(d.status! + path)).arrayBuffer();
        const secs = (performance.now() - t) / 1000;
        if (b >= 0) per[i]![e].push((Math.max(0, cpuOf(d.child.pid!) - c - background[i]! * secs) / 100) * 1e6);
      }
    }
  }
  return per.map((p) => ({ status: med(p.status), keys: med(p.keys), key: med(p.key), health: med(p.health) }));
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

const med = (xs: number[]): number => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
const quantile = (xs: number[], q: number): number =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

/**
 * --swap: the viewing cost with the daemons' own bias taken out. Two daemons of a build, both with the
 * page on, take turns: in even rounds a page is open on the first, in odd rounds on the second (opened
 * before the blast, closed after it). A round's ratio is the viewed daemon's CPU per line over the
 * other's; a daemon that runs k × dearer than its twin (placement on a shared machine: the A/A control
 * reads up to 1.08 × there) gives k·(1+c) one round and (1+c)/k the next, so the geometric mean of two
 * consecutive rounds is (1+c), whatever k. The twin's own page stays "open" for VIEW_WINDOW_MS after
 * its turn (lines per key sampled in the window): that part, a few hundredths of a %, is in both.
 * With --before, two more daemons of that build do the same in the same rounds.
 */
async function swapRun(
  here: string,
  before: string | null,
  blast: string,
  o: { seconds: number; rate: number; lines: number },
  rounds: number,
  control: boolean,
): Promise<string[]> {
  const builds: Array<{ name: string; main: string; control: boolean }> = [{ name: 'this', main: here, control: false }];
  if (before !== null) builds.push({ name: '--before', main: before, control: false });
  // --control: a pair of this build whose "page" asks only /health, as often (HTTP alone, no API work)
  if (control) builds.push({ name: 'this, /health only', main: here, control: true });
  const twins: Running[][] = [];
  const load0 = loadavg();
  const started = new Date().toISOString();
  const all: Running[] = [];
  try {
    for (const b of builds) {
      const pair = [await start(b.main, true), await start(b.main, true)];
      twins.push(pair);
      all.push(...pair);
    }
    // ratio[build][round]: the viewed twin's CPU per line over the other's
    const ratio = builds.map(() => [] as number[]);
    // rounds -2 and -1 warm up (each twin viewed once: the page's code compiled in both) and are not counted
    for (let r = -2; r < rounds; r++) {
      const turn = (r + 2) % 2;
      let closed = false;
      const views = twins.map((pair, b) => viewer(pair[turn]!.status!, () => closed, builds[b]!.control));
      await sleep(500);
      // (the generators' start order turns every second round: both rounds of a pair start them alike)
      const xs = await round(
        blast,
        all.map((d) => ({ d })),
        o,
        Math.floor((r + 2) / 2),
      );
      closed = true;
      await Promise.all(views);
      if (r < 0) continue;
      for (let b = 0; b < builds.length; b++) ratio[b]!.push(xs[2 * b + turn]! / xs[2 * b + 1 - turn]!);
    }
    const load1 = loadavg();
    const out: string[] = [
      `## Status page cost, twins taking turns (--swap): ${rounds} rounds of ${o.seconds} s, ${all.length} daemons side by side, each at ${o.rate} packets/s × ${o.lines} lines`,
      '',
      `Started ${started}; load average ${load0.map((x) => x.toFixed(2)).join(', ')} at the start, ${load1.map((x) => x.toFixed(2)).join(', ')} after the rounds. CPU from schedstat (ns).`,
      '',
      "| build | viewed ÷ twin, per round (even: first twin viewed) | viewing cost: median over pairs of rounds of √(even × odd) | 25th-75th percentile | twins' own bias: √(even ÷ odd), median |",
      '|---|---|---|---|---|',
    ];
    const costs = ratio.map((rs) => {
      const pairs: number[] = [];
      const bias: number[] = [];
      for (let k = 0; k + 1 < rs.length; k += 2) {
        pairs.push(Math.sqrt(rs[k]! * rs[k + 1]!));
        bias.push(Math.sqrt(rs[k]! / rs[k + 1]!));
      }
      return { pairs, bias };
    });
    for (let b = 0; b < builds.length; b++) {
      const { pairs, bias } = costs[b]!;
      out.push(
        `| ${builds[b]!.name} | ${ratio[b]!.map((x) => x.toFixed(3)).join(', ')} | **${med(pairs).toFixed(4)} ×** | ${quantile(pairs, 0.25).toFixed(3)}-${quantile(pairs, 0.75).toFixed(3)} | ${med(bias).toFixed(3)} |`,
      );
    }
    if (before !== null) {
      const vs = costs[0]!.pairs.map((x, i) => x / costs[1]!.pairs[i]!);
      out.push(
        '',
        `Viewing cost, this build ÷ --before, median over pairs of rounds: ${med(vs).toFixed(4)} × (25th-75th: ${quantile(vs, 0.25).toFixed(3)}-${quantile(vs, 0.75).toFixed(3)}).`,
      );
    }
    return out;
  } finally {
    stopping = true;
    for (const d of all) await stopChild(d.child);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '30000' },
      lines: { type: 'string', default: '10' },
      before: { type: 'string' },
      modes: { type: 'string' },
      swap: { type: 'boolean', default: false },
      control: { type: 'boolean', default: false },
    },
  });
  const o = { seconds: Number(values.seconds), rate: Number(values.rate), lines: Number(values.lines) };
  const root = repoRoot();
  const blast = buildLoadgen(root);
  const here = join(root, 'dist', 'src', 'main.js');
  const before = values.before === undefined ? null : join(resolve(values.before), 'src', 'main.js');
  const all: Mode[] =
    before === null
      ? ['off', 'off-aa', 'idle', 'viewing', 'polling']
      : ['off', 'off-aa', 'idle', 'viewing', 'polling', 'before-off', 'before-viewing'];
  // --modes a,b: only these (fewer daemons side by side: less load on a small machine); off-aa only when named
  const modes = values.modes === undefined ? all.filter((m) => m !== 'off-aa') : all.filter((m) => values.modes!.split(',').includes(m));
  const load0 = loadavg();
  const started = new Date().toISOString();
  if (values.swap) {
    process.stdout.write((await swapRun(here, before, blast, o, Number(values.rounds), values.control!)).join('\n') + '\n');
    return;
  }
  const daemons = new Map<Mode, Running>();
  try {
    for (const m of modes) daemons.set(m, await start(m.startsWith('before') ? before! : here, !m.includes('off')));
    const results = Object.fromEntries(all.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
    // the pages are opened once and stay open through every round, as a person's would; the requests
    // each made, by endpoint, give the rates of the parts below
    const counts = Object.fromEntries(all.map((m) => [m, { status: 0, keys: 0, key: 0, health: 0 }])) as Record<
      Mode,
      Record<Endpoint, number>
    >;
    let closed = false;
    const viewStart = performance.now();
    const views = modes.map((m) =>
      m.endsWith('viewing') || m === 'polling'
        ? viewer(daemons.get(m)!.status!, () => closed, m === 'polling', counts[m])
        : Promise.resolve(),
    );
    await sleep(1000);
    const rounds = Number(values.rounds);
    for (let r = -1; r < rounds; r++) {
      // round -1 warms every daemon up (JIT, key tables) and is not counted
      const xs = await round(
        blast,
        modes.map((m) => ({ d: daemons.get(m)! })),
        o,
        Math.max(0, r),
      );
      if (r >= 0) for (let i = 0; i < modes.length; i++) results[modes[i]!].push(xs[i]!);
    }
    closed = true;
    const viewedSeconds = (performance.now() - viewStart) / 1000;
    await Promise.all(views);
    // (--before without before-off: the before build's viewing against this build's off; their ingest is the same code)
    const baseOf = (m: Mode): Mode => (m.startsWith('before') && results['before-off'].length > 0 ? 'before-off' : 'off');
    const out: string[] = [];
    const load1 = loadavg();
    out.push(
      `## Status page cost: ${rounds} rounds of ${o.seconds} s, ${modes.length} daemons side by side, each at ${o.rate} packets/s × ${o.lines} lines${before === null ? '' : ` (before: ${before})`}`,
      '',
      `Started ${started}; load average ${load0.map((x) => x.toFixed(2)).join(', ')} at the start, ${load1.map((x) => x.toFixed(2)).join(', ')} after the rounds. CPU from schedstat (ns).`,
      '',
    );
    out.push(
      '| mode | CPU ms per million lines received (median) | all rounds | × baseline (medians) | × baseline (median of per-round ratios) | per-round ratios, 25th-75th percentile |',
    );
    out.push('|---|---|---|---|---|---|');
    const ratios = (m: Mode, b: Mode): number[] =>
      results[b].length === 0 || results[m].length === 0 ? [] : results[m].map((x, i) => x / results[b][i]!);
    const paired = (m: Mode): number => med(ratios(m, baseOf(m)));
    for (const m of modes) {
      const xs = results[m];
      const rs = ratios(m, baseOf(m));
      out.push(
        `| ${m} | ${med(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(med(xs) / med(results[baseOf(m)] ?? [NaN])).toFixed(3)} | ${paired(m).toFixed(3)} | ${quantile(rs, 0.25).toFixed(3)}-${quantile(rs, 0.75).toFixed(3)} |`,
      );
    }
    const idle = paired('idle');
    const viewing = paired('viewing');
    if (results.off.length > 0) {
      out.push(
        '',
        `Verdict (per-round ratios): idle ${idle.toFixed(3)} × (target: within noise, ≤ 1.02), viewing ${viewing.toFixed(3)} × (target ≤ 1.02): ${!(idle > 1.02) && !(viewing > 1.02) ? 'met' : 'MISSED'}.`,
      );
      if (results['off-aa'].length > 0) out.push(`A/A control: off-aa ${paired('off-aa').toFixed(3)} × off (two equal daemons).`);
    }
    if (before !== null && results.viewing.length > 0 && results['before-viewing'].length > 0) {
      const vv = med(results.viewing.map((x, i) => x / results['before-viewing'][i]!));
      out.push(
        `Before: viewing ${paired('before-viewing').toFixed(3)} ×; viewing now ÷ viewing before, median of per-round ratios: ${vv.toFixed(3)} ×.`,
      );
    }
    // the parts, measured apart, against the baseline daemon's CPU per line of this run
    const viewed = daemons.get('viewing') ?? daemons.get('before-viewing');
    const baseline = results.off.length > 0 ? results.off : results['before-off'];
    if (viewed !== undefined && baseline.length > 0) {
      const linesPerSec = o.rate * o.lines;
      const ingestMsPerSec = (med(baseline) / 1e6) * linesPerSec; // CPU ms per s of ingest, no page
      const share = SAMPLE_SHARE;
      const measured = (['viewing', 'before-viewing'] as const).filter((m) => daemons.has(m));
      const costs = await requestCosts(
        measured.map((m) => daemons.get(m)!),
        5,
      );
      const parts: Array<{ build: string; mode: Mode; cost: Record<Endpoint, number>; count: { extraNs: number; lineNs: number } }> = [];
      for (let i = 0; i < measured.length; i++) {
        const m = measured[i]!;
        const dist = m === 'viewing' ? join(root, 'dist') : resolve(values.before!);
        parts.push({ build: m === 'viewing' ? 'this' : '--before', mode: m, cost: costs[i]!, count: await perLineCount(dist, 200) });
      }
      out.push(
        '',
        '### The parts, measured apart',
        '',
        `Ingest without the page (the baseline's median above): ${med(baseline).toFixed(1)} CPU ms per million lines, ${ingestMsPerSec.toFixed(1)} ms per s at ${linesPerSec} lines/s.`,
        'Requests: CPU µs per request on a quiet daemon holding the keys (batches of 100, the builds and endpoints alternated, median of 5), times the rate at which the open page made them during the rounds.',
        '',
        '| build | /api/status | /api/keys (search) | /api/key (chart) | /health (HTTP alone) | requests, CPU ms per s | counting lines per key, in-process | counting, CPU ms per s in a ' +
          share * 100 +
          ' % window | open page / ingest (requests + counting in the window) |',
        '|---|---|---|---|---|---|---|---|---|',
      );
      for (const p of parts) {
        const rate = (e: Endpoint): number => counts[p.mode][e] / viewedSeconds;
        const cell = (e: Endpoint): string => `${p.cost[e].toFixed(0)} µs × ${rate(e).toFixed(2)}/s`;
        const requestsMs = (['status', 'keys', 'key'] as const).reduce((a, e) => a + (p.cost[e] * rate(e)) / 1000, 0);
        const countMs = p.count.extraNs * 1e-6 * linesPerSec * share;
        out.push(
          `| ${p.build} | ${cell('status')} | ${cell('keys')} | ${cell('key')} | ${p.cost.health.toFixed(0)} µs | ${requestsMs.toFixed(3)} | +${p.count.extraNs.toFixed(2)} ns per line (${p.count.lineNs.toFixed(1)} without) | ${countMs.toFixed(3)} | ${(1 + (requestsMs + countMs) / ingestMsPerSec).toFixed(4)} × |`,
        );
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
