/**
 * One process vs `workers: 2`, in the same run, on a fixed UDP port: with workers each one binds its
 * own SO_REUSEPORT socket read by the native reader (the mode `workers` is for), and several senders
 * (tally-blast processes, one source port each) let the kernel spread the flows over the workers.
 *
 * The machine running it may be small and shared, so it does not read throughput off a saturated
 * host: the load is paced (loss-free for both modes, checked) and the figure is CPU time per line, each
 * process's (/proc/<pid>/stat), summed and split primary / workers, as medians over the rounds. Also
 * the idle cost of the mode (CPU s/s and RSS with no load) and each process's RSS after the load.
 *
 *   npm run build && node dist/bench/workers.bench.js [--seconds 5] [--rounds 3] [--senders 4] [--rate25 10000] [--rate1 25000]
 *
 * (rates are packets/s per sender; 0 = flat out, then loss and counted lines/s are what to read).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { cpuSeconds, freePort, killAllChildren, memoryStatus, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

/** A Graphite sink that keeps the sum of each own counter over every flush. */
class OwnCounterSink {
  readonly sums = new Map<string, number>();
  private server: net.Server;
  port = 0;
  constructor() {
    this.server = net.createServer((s) => {
      let pending = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line.startsWith('stats_counts.statsd.')) continue;
          const [path, value] = line.split(' ');
          this.sums.set(path!, (this.sums.get(path!) ?? 0) + Number(value));
        }
      });
      s.on('error', () => undefined);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((res) => this.server.listen(0, '127.0.0.1', () => res()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  reset(): void {
    this.sums.clear();
  }
  get(name: string): number {
    return this.sums.get(`stats_counts.statsd.${name}`) ?? 0;
  }
  close(): Promise<void> {
    return new Promise((res) => this.server.close(() => res()));
  }
}

interface Started {
  pid: number;
  udpPort: number;
  workerPids: number[];
  stop(): Promise<void>;
}

async function startTallyd(workers: number, graphitePort: number): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-workers-bench-'));
  const file = join(dir, 'config.json');
  const port = await freePort('udp');
  writeFileSync(
    file,
    JSON.stringify({
      port,
      address: '127.0.0.1',
      mgmt_port: 0,
      flushInterval: 1000,
      graphiteHost: '127.0.0.1',
      graphitePort,
      backends: ['graphite'],
      workers,
      deleteIdleStats: true,
      logLevel: 'warn',
    }),
  );
  const child = trackChild(
    spawn(process.execPath, [join(repoRoot(), 'dist', 'src', 'main.js'), file, '--log-level', 'info'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const deadline = Date.now() + 15_000;
  let udpPort = 0;
  while (udpPort === 0) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tallyd did not start: ${out.slice(-2000)}`);
    const m = /"listeners":\["udp 127\.0\.0\.1:(\d+)"/.exec(out);
    if (m && out.includes('tallyd is up')) udpPort = Number(m[1]);
    else await sleep(50);
  }
  let workerPids: number[] = [];
  try {
    workerPids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    workerPids = [];
  }
  return {
    pid: child.pid!,
    udpPort,
    workerPids,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Row {
  lines: number;
  workers: number;
  round: number;
  sentLines: number;
  countedLines: number;
  lossPct: number;
  /** CPU seconds of each process during the load (primary first). */
  cpu: number[];
  /** RSS of each process after the load, MiB. */
  rssMiB: number[];
  seconds: number;
}

async function measure(bin: string, sink: OwnCounterSink, workers: number, lines: number, o: Options, round: number): Promise<Row> {
  const d = await startTallyd(workers, sink.port);
  try {
    await sleep(1500);
    const pids = [d.pid, ...d.workerPids];
    const cpu0 = pids.map((p) => cpuSeconds(p) ?? 0);
    sink.reset();
    let sentLines = 0;
    let seconds = o.seconds;
    if (lines > 0) {
      const rate = lines === 1 ? o.rate1 : o.rate25;
      const sent = await Promise.all(
        Array.from({ length: o.senders }, (_, i) =>
          runBlast(bin, {
            port: d.udpPort,
            rate,
            seconds: o.seconds,
            lines,
            keys: 1000,
            mix: lines === 1 ? 'c' : 'ct',
            prefix: `blast${i}`,
          }),
        ),
      );
      sentLines = sent.reduce((a, r) => a + r.sentLines, 0);
      seconds = Math.max(...sent.map((r) => r.seconds));
    } else {
      await sleep(o.seconds * 1000);
    }
    const cpuLoad = pids.map((p, i) => (cpuSeconds(p) ?? 0) - cpu0[i]!);
    await sleep(2500); // drain the socket buffers, two more flushes
    const counted = sink.get('metrics_received');
    return {
      lines,
      workers,
      round,
      sentLines,
      countedLines: counted,
      seconds,
      lossPct: sentLines === 0 ? 0 : Math.round((1 - counted / sentLines) * 1000) / 10,
      cpu: cpuLoad,
      rssMiB: pids.map((p) => Math.round((memoryStatus(p)?.rssBytes ?? 0) / 1048576)),
    };
  } finally {
    await d.stop();
  }
}

interface Options {
  seconds: number;
  rounds: number;
  senders: number;
  rate25: number;
  rate1: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sumOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      senders: { type: 'string', default: '4' },
      rate25: { type: 'string', default: '10000' },
      rate1: { type: 'string', default: '25000' },
    },
  });
  const o: Options = {
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    senders: Number(values.senders),
    rate25: Number(values.rate25),
    rate1: Number(values.rate1),
  };
  const bin = buildLoadgen(repoRoot());
  const sink = new OwnCounterSink();
  await sink.listen();
  const rows: Row[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const lines of [25, 1, 0]) {
        // alternate which mode goes first, so that a drift of the shared machine's load does not favour one
        const order = round % 2 === 1 ? [1, 2] : [2, 1];
        for (const workers of order) {
          const row = await measure(bin, sink, workers, lines, o, round);
          rows.push(row);
          process.stdout.write(JSON.stringify(row) + '\n');
        }
      }
    }
  } finally {
    await sink.close();
    killAllChildren();
  }
  process.stdout.write(
    `\n${o.senders} senders, ${o.seconds} s per run, rates per sender: ${o.rate25} packets/s of 25 lines, ${o.rate1} of 1 line; medians over ${o.rounds} rounds\n`,
  );
  process.stdout.write(
    '\n| lines/packet | workers | counted lines/s | loss (max) | CPU ns/line, all processes | primary | workers | ratio to 1 process | RSS MiB (primary; workers) |\n|---|---|---|---|---|---|---|---|---|\n',
  );
  const base = new Map<number, number>();
  for (const lines of [25, 1]) {
    for (const workers of [1, 2]) {
      const rs = rows.filter((r) => r.lines === lines && r.workers === workers);
      const all = median(rs.map((r) => (sumOf(r.cpu) / r.countedLines) * 1e9));
      const primary = median(rs.map((r) => (r.cpu[0]! / r.countedLines) * 1e9));
      const w = workers === 1 ? 0 : median(rs.map((r) => (sumOf(r.cpu.slice(1)) / r.countedLines) * 1e9));
      if (workers === 1) base.set(lines, all);
      const rss = rs.at(-1)!.rssMiB;
      process.stdout.write(
        `| ${lines} | ${workers} | ${Math.round(median(rs.map((r) => r.countedLines / r.seconds)))} | ${Math.max(...rs.map((r) => r.lossPct))} % | ${all.toFixed(0)} | ${primary.toFixed(0)} | ${workers === 1 ? '-' : w.toFixed(0)} | ${(all / base.get(lines)!).toFixed(2)} | ${rss[0]}; ${rss.slice(1).join(', ') || '-'} |\n`,
      );
    }
  }
  for (const workers of [1, 2]) {
    const rs = rows.filter((r) => r.lines === 0 && r.workers === workers);
    const cpu = median(rs.map((r) => sumOf(r.cpu) / r.seconds));
    const rss = rs.at(-1)!.rssMiB;
    process.stdout.write(
      `| idle | ${workers} | - | - | CPU ${cpu.toFixed(3)} s/s | | | | ${rss[0]}; ${rss.slice(1).join(', ') || '-'} |\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  killAllChildren();
  process.exitCode = 1;
});
