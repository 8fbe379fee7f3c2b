/**
 * The Prometheus backend under the repros of issue 9, at their full scale (the tests run them small).
 *
 *   npm run build && node dist/bench/prometheus-abuse.bench.js flood [--timers 12000] [--main path/to/main.js]
 *   npm run build && node dist/bench/prometheus-abuse.bench.js reloads [--main path/to/main.js]
 *
 * flood:   12,000 timer keys of 10,000 bytes over UDP, then two scrapes of /metrics: status, size,
 *          time, tallyd_prometheus_series_over_budget, the daemon's RSS before and after.
 * reloads: a real Prometheus (Debian's `prometheus`) scrapes tallyd every second while 1,000,000
 *          increments are sent over ~30 s with 2 SIGHUPs changing flushInterval and percentThreshold;
 *          prints the last value scraped, resets() and the decreases between stored samples.
 * `--main` runs another build (e.g. the previous commit's) for a before/after in the same session.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
};
const MAIN = arg('--main', join(ROOT, 'dist', 'src', 'main.js'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Daemon {
  proc: ChildProcess;
  udpPort: number;
  promPort: number;
  log: string[];
  configFile: string;
}

async function startDaemon(configText: string): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-abuse-'));
  const configFile = join(dir, 'config.js');
  writeFileSync(configFile, configText);
  const proc = spawn(process.execPath, [MAIN, configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let buf = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      log.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  let udpPort = 0;
  let promPort = 0;
  for (let i = 0; i < 400 && (udpPort === 0 || promPort === 0); i++) {
    await sleep(50);
    for (const l of log) {
      if (!l.startsWith('{')) continue;
      const j = JSON.parse(l) as { msg?: string; listeners?: string[]; port?: number };
      if (j.msg === 'tallyd is up') udpPort = Number(j.listeners![0]!.slice(j.listeners![0]!.lastIndexOf(':') + 1));
      if (j.msg?.startsWith('prometheus: serving') && typeof j.port === 'number') promPort = j.port;
    }
  }
  if (udpPort === 0 || promPort === 0) throw new Error(`tallyd did not start:\n${log.join('\n')}`);
  return { proc, udpPort, promPort, log, configFile };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m![1]) / 1024);
}

/** GET a path: status, bytes and time; keeps only the last ~2 MB of the body (the tallyd_* part). */
function scrape(port: number, path: string): Promise<{ status: number; bytes: number; ms: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let bytes = 0;
        let last: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          last.push(c);
          if (last.length > 64) last = last.slice(-32);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0, tail: Buffer.concat(last).toString('latin1') }),
        );
      })
      .on('error', reject);
  });
}

const sample = (text: string, name: string): string | undefined => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];

async function flood(): Promise<void> {
  const n = Number(arg('--timers', '12000'));
  console.log(`flood: ${n} timer keys of 10,000 bytes (${MAIN})`);
  const d = await startDaemon(
    `{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 2000, udpRecvBuffer: 33554432, backends: ['prometheus'], prometheus: { port: 0 } }`,
  );
  const sock = dgram.createSocket('udp4');
  const pad = 'k'.repeat(10_000 - 12);
  for (let i = 0; i < n; i++) {
    await new Promise<void>((r) =>
      sock.send(Buffer.from(`${pad}.${String(i).padStart(6, '0')}:${i % 1000}|ms`), d.udpPort, '127.0.0.1', () => r()),
    );
    if (i % 20 === 0) await sleep(4);
  }
  sock.close();
  await sleep(5000); // two flushes
  console.log(`  before any scrape: RSS ${rssMiB(d.proc.pid!)} MiB`);
  for (let k = 1; k <= 2; k++) {
    const r = await scrape(d.promPort, '/metrics');
    console.log(
      `  scrape ${k}: status ${r.status}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${Math.round(r.ms)} ms; ` +
        `lines received ${sample(r.tail, 'tallyd_lines_received_total')}, series over budget ${sample(r.tail, 'tallyd_prometheus_series_over_budget')}; ` +
        `RSS ${rssMiB(d.proc.pid!)} MiB`,
    );
  }
  const notes = d.log.filter((l) => /maxExpositionBytes|Invalid string length|cannot render/.test(l)).map((l) => l.slice(0, 240));
  console.log(`  log: ${notes.length} line(s)${notes.length > 0 ? `; first: ${notes[0]}` : ''}`);
  d.proc.kill('SIGTERM');
}

async function reloads(): Promise<void> {
  console.log(`reloads: 1,000,000 increments, 2 SIGHUPs, a real Prometheus scraping every second (${MAIN})`);
  const target = await freePort();
  const cfg = (fi: number, pt: number[]): string =>
    `{ port: 0, address: '127.0.0.1', mgmt_port: 0, automaticConfigReload: false, flushInterval: ${fi}, percentThreshold: ${JSON.stringify(pt)}, backends: ['prometheus'], prometheus: { port: ${target} } }`;
  const d = await startDaemon(cfg(1000, [90]));
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-abuse-prom-'));
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: tallyd\n    static_configs: [ { targets: ['127.0.0.1:${target}'] } ]\n`,
  );
  const prom = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: 'ignore' },
  );
  type Result = { value?: [number, string]; values?: [number, string][] };
  const query = (q: string): Promise<Result[]> =>
    new Promise((resolve) => {
      http
        .get({ host: '127.0.0.1', port: promPort, path: `/api/v1/query?query=${encodeURIComponent(q)}` }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => {
            try {
              resolve((JSON.parse(b) as { data: { result: Result[] } }).data.result);
            } catch {
              resolve([]);
            }
          });
        })
        .on('error', () => resolve([]));
    });
  for (let i = 0; i < 160 && (await query('up{job="tallyd"}'))[0]?.value?.[1] !== '1'; i++) await sleep(250);
  const sock = dgram.createSocket('udp4');
  const pkt = Buffer.from(Array.from({ length: 50 }, () => 'big.hits:1|c').join('\n'));
  const t0 = Date.now();
  let sent = 0;
  for (let k = 0; k < 20_000; k++) {
    await new Promise<void>((r) => sock.send(pkt, d.udpPort, '127.0.0.1', () => r()));
    sent += 50;
    if (k % 100 === 0) await sleep(150);
    if (k === 6667 || k === 13_333) {
      writeFileSync(d.configFile, k === 6667 ? cfg(1500, [95, 99]) : cfg(800, [50]));
      d.proc.kill('SIGHUP');
    }
  }
  sock.close();
  let last: string | undefined;
  for (let i = 0; i < 120; i++) {
    last = (await query('big_hits'))[0]?.value?.[1];
    if (last === String(sent)) break;
    await sleep(500);
  }
  const span = Math.ceil((Date.now() - t0) / 1000) + 5;
  const resets = (await query(`resets(big_hits[${span}s])`))[0]?.value?.[1];
  const values = (await query(`big_hits[${span}s]`))[0]?.values ?? [];
  let decreases = 0;
  for (let i = 1; i < values.length; i++) if (Number(values[i]![1]) < Number(values[i - 1]![1])) decreases++;
  const reloaded = d.log.filter((l) => l.includes('"msg":"config reloaded"')).length;
  console.log(
    `  sent ${sent}, reloads ${reloaded}; last scraped ${last}; samples ${values.length}, decreases ${decreases}, resets() ${resets}`,
  );
  prom.kill('SIGTERM');
  d.proc.kill('SIGTERM');
}

const mode = process.argv[2];
if (mode === 'flood') await flood();
else if (mode === 'reloads') await reloads();
else console.log('usage: node dist/bench/prometheus-abuse.bench.js flood|reloads [--timers N] [--main path/to/main.js]');
