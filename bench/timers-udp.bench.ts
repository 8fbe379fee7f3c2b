/**
 * Timer accuracy through the whole daemon (issue 10): the five shapes of timers.bench.ts × 10^3,
 * 10^5 and 10^6 values, each on its own key, all in one interval, sent over UDP to the built tallyd
 * (values as clients send them: ms with 3 decimals, or whole ms), flushed to a Graphite listener.
 * Relative error of median, upper_90/95/99/99_9 and mean_99 against the original's definitions on
 * the values sent. Every value must arrive (the count is checked); the interval is closed by
 * SIGTERM (tallyd flushes the partial interval), after the admin port shows every line received.
 *
 *   npm run build && node dist/bench/timers-udp.bench.js [--workers 2] [--max 1000000]
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../src/aggregator/reservoir.js';
import { startTallyd } from './e2e/daemon.js';
import { freePort, repoRoot, sleep } from './e2e/proc.js';
import { exactFigures, FIGURES, relErrors, SHAPES, statFigures } from './timers.bench.js';

const args = process.argv;
const workers = args.includes('--workers') ? Number(args[args.indexOf('--workers') + 1]) : 1;
const max = args.includes('--max') ? Number(args[args.indexOf('--max') + 1]) : 1e6;
const LINES_PER_PACKET = 100;

/** A plaintext Graphite listener keeping the last value of every path. */
async function sink(): Promise<{ port: number; values: Map<string, number>; close: () => void }> {
  const values = new Map<string, number>();
  const server = net.createServer((s) => {
    let pending = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const a = line.indexOf(' ');
        const b = line.indexOf(' ', a + 1);
        values.set(line.slice(0, a), Number(line.slice(a + 1, b)));
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, values, close: () => server.close() };
}

function admin(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1');
    let data = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d: string) => {
      data += d;
      if (data.endsWith('END\n\n')) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', reject);
  });
}

export async function main(): Promise<void> {
  const g = await sink();
  const mgmt = await freePort('tcp');
  const d = await startTallyd(repoRoot(), {
    graphitePort: g.port,
    flushInterval: 3_600_000,
    recvBuffer: 32 * 1024 * 1024,
    deleteIdle: false,
    extra: { mgmt_port: mgmt, percentThreshold: [90, 95, 99, 99.9], workers },
  });
  const sock = dgram.createSocket('udp4');
  const send = (buf: Buffer): Promise<void> =>
    new Promise((res, rej) => sock.send(buf, d.udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())));
  const keys: { key: string; shape: string; n: number; exact: ReturnType<typeof exactFigures> }[] = [];
  let lines = 0;
  const t0 = Date.now();
  for (const [si, shape] of SHAPES.entries()) {
    for (const n of [1e3, 1e5, 1e6].filter((x) => x <= max)) {
      const key = `acc.s${si}.n${n}`;
      const r = seededRandom(n + si);
      const values = new Float64Array(n);
      let batch: string[] = [];
      for (let i = 0; i < n; i++) {
        const v = shape.draw(r);
        const text = Number.isInteger(v) ? String(v) : v.toFixed(3);
        values[i] = Number(text);
        batch.push(`${key}:${text}|ms`);
        if (batch.length === LINES_PER_PACKET || i === n - 1) {
          await send(Buffer.from(batch.join('\n')));
          lines += batch.length;
          batch = [];
          // paced: the daemon must drop nothing (the counts are checked)
          if ((lines / LINES_PER_PACKET) % 20 === 0) await sleep(1);
        }
      }
      keys.push({ key, shape: shape.name, n, exact: exactFigures(values) });
    }
  }
  const sendS = (Date.now() - t0) / 1000;
  // every line received (one process: the live counter; with workers, after a flush only, so SIGTERM decides)
  if (workers === 1) {
    for (let i = 0; i < 600; i++) {
      const m = /'statsd\.metrics_received': (\d+)/.exec(await admin(mgmt, 'counters'));
      if (m !== null && Number(m[1]) >= lines) break;
      await sleep(100);
    }
  } else {
    await sleep(3000);
  }
  await d.stop(); // SIGTERM: the partial interval is flushed
  for (let i = 0; i < 100 && !g.values.has(`stats.timers.${keys[keys.length - 1]!.key}.count`); i++) await sleep(100);
  sock.close();
  g.close();

  console.log(
    `timers over UDP (tallyd, workers: ${workers}): ${lines.toLocaleString('en-US')} lines sent in ${sendS.toFixed(1)} s, one interval`,
  );
  console.log(`| shape | values | arrived | ${FIGURES.join(' | ')} |`);
  console.log(`|---|---|---|${FIGURES.map(() => '---').join('|')}|`);
  let worst = 0;
  for (const k of keys) {
    const get = (f: string): number => g.values.get(`stats.timers.${k.key}.${f}`) ?? NaN;
    const err = relErrors(statFigures(get), k.exact);
    if (k.n >= 1e5) worst = Math.max(worst, err.median, err.p95, err.p99, err['p99.9'], err.mean_99);
    console.log(
      `| ${k.shape} | 10^${Math.log10(k.n)} | ${get('count') === k.n ? 'all' : get('count')} | ${FIGURES.map((f) => (err[f] * 100).toFixed(2) + ' %').join(' | ')} |`,
    );
  }
  console.log(`worst at 10^5 and 10^6 (median, p95, p99, p99.9, mean_99): ${(worst * 100).toFixed(2)} % (target ≤ 1 %)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
