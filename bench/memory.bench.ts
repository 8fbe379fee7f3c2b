/**
 * Memory under hostile input (issue 9, "Memory is bounded by bytes"): spawns the built daemon, sends
 * each repro over UDP at a reduced scale, and prints the daemon's RSS before and after, whether it is
 * still up, and what it counted (bad lines, keys dropped, set members dropped).
 *
 *   npm run build && node dist/bench/memory.bench.js [--scale 1] [--only spellings,longkeys,sets]
 *       [--default-key-length] [--key-table-bytes N]
 *
 * TALLYD_MAIN=/path/to/main.js runs another build (e.g. the one before a change) in the same session.
 * Each scenario gets a fresh daemon; RSS is /proc/<pid>/status VmRSS (Linux).
 *
 * - spellings: N raw spellings of one canonical key (a Librato `#junkN` tag, which is dropped) with maxKeys 1000;
 * - longkeys: N distinct counter keys of 10,000 bytes (maxKeyLength raised to let them in, as before it existed,
 *   unless --default-key-length: then they are refused as bad lines);
 * --key-table-bytes N sets keyTableBytes in the spellings and longkeys scenarios (a build without it ignores it);
 * - sets: N unique members of one set in one interval (members of ~12 bytes).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    only: { type: 'string', default: 'spellings,longkeys,sets' },
    'default-key-length': { type: 'boolean', default: false },
    'key-table-bytes': { type: 'string' },
  },
});
const scale = Number(args.scale);
const MAIN = process.env['TALLYD_MAIN'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

interface Running {
  pid: number;
  udpPort: number;
  mgmtPort: number;
  alive(): boolean;
  stderr: string[];
  /** SIGTERM (the final flush), then the console backend's last flush. */
  stop(): Promise<Record<string, Record<string, number>>>;
}

async function start(extra: Record<string, unknown>): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-membench-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      port: 0,
      address: '127.0.0.1',
      mgmt_port: 0,
      flushInterval: 2000,
      backends: ['./backends/console'],
      console: { prettyprint: false },
      udpReader: 'dgram',
      ...extra,
    }),
  );
  const child = spawn(process.execPath, [MAIN, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  let out = '';
  /** The console backend's flushes (a JSON object per flush, one line each), counters and sets summed. */
  const totals: Record<string, Record<string, number>> = { counters: {}, sets: {} };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const f = JSON.parse(line) as Record<string, Record<string, number>>;
      for (const t of ['counters', 'sets']) for (const [k, v] of Object.entries(f[t] ?? {})) totals[t]![k] = (totals[t]![k] ?? 0) + v;
    }
  });
  let buf = '';
  let exited = false;
  child.on('exit', () => (exited = true));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      stderr.push(buf.slice(0, nl));
      if (stderr.length > 2000) stderr.shift();
      buf = buf.slice(nl + 1);
    }
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error('the daemon exited: ' + stderr.join('\n'));
    const up = stderr
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg?: string; listeners?: string[]; mgmt?: string }) : {}))
      .find((j) => j.msg === 'tallyd is up');
    if (up !== undefined) {
      const udp = up.listeners!.find((l) => l.startsWith('udp'))!;
      const mgmtPort = Number(up.mgmt!.slice(up.mgmt!.lastIndexOf(':') + 1));
      return {
        pid: child.pid!,
        udpPort: Number(udp.slice(udp.lastIndexOf(':') + 1)),
        mgmtPort,
        stderr,
        alive: () => !exited,
        stop: async () => {
          if (!exited) child.kill('SIGTERM');
          for (let i = 0; i < 200 && !exited; i++) await sleep(50);
          if (!exited) child.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
          return totals;
        },
      };
    }
    if (Date.now() > deadline) throw new Error('the daemon did not start: ' + stderr.join('\n'));
    await sleep(50);
  }
}

function admin(port: number, cmd: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.createConnection(port, '127.0.0.1');
    let data = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(data);
    }, 3000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d: string) => {
      data += d;
      if (data.endsWith('END\n\n')) {
        clearTimeout(t);
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', () => resolve(data));
  });
}

/** Sends `packets()` over UDP, paced (the kernel buffer must not overflow: the point is what the daemon keeps). */
async function send(port: number, packets: Iterable<string>, every = 20): Promise<number> {
  const sock = dgram.createSocket('udp4');
  let n = 0;
  for (const p of packets) {
    await new Promise<void>((res) => sock.send(p, port, '127.0.0.1', () => res()));
    if (++n % every === 0) await sleep(5);
  }
  sock.close();
  return n;
}

interface Scenario {
  name: string;
  config: Record<string, unknown>;
  packets(): Iterable<string>;
  what: string;
  every?: number;
  /** What the console backend's flushes showed for the scenario's key. */
  result(totals: Record<string, Record<string, number>>): string;
}

function* spellings(n: number): Iterable<string> {
  for (let i = 0; i < n; i += 20) {
    let p = '';
    for (let j = i; j < i + 20 && j < n; j++) p += `rep.key#junk${j}:1|c\n`;
    yield p;
  }
}

function* longKeys(n: number): Iterable<string> {
  const pad = 'x'.repeat(10_000 - 12);
  for (let i = 0; i < n; i += 6) {
    let p = '';
    for (let j = i; j < i + 6 && j < n; j++) p += `k${String(j).padStart(10, '0')}.${pad}:1|c\n`;
    yield p;
  }
}

function* setMembers(n: number): Iterable<string> {
  for (let i = 0; i < n; i += 50) {
    let p = '';
    for (let j = i; j < i + 50 && j < n; j++) p += `rep.set:member${String(j).padStart(6, '0')}|s\n`;
    yield p;
  }
}

const budget = args['key-table-bytes'] === undefined ? {} : { keyTableBytes: Number(args['key-table-bytes']) };
const N_SPELL = Math.round(100_000 * scale);
const N_LONG = Math.round(5_000 * scale);
const N_SET = Math.round(500_000 * scale);
const scenarios: Scenario[] = [
  {
    name: 'spellings',
    config: { maxKeys: 1000, ...budget },
    packets: () => spellings(N_SPELL),
    what: `${N_SPELL} spellings of one key, maxKeys 1000${budget.keyTableBytes === undefined ? '' : `, keyTableBytes ${budget.keyTableBytes}`}`,
    result: (f) => `rep.key counted (all flushes) ${String(f['counters']?.['rep.key'])}`,
  },
  {
    name: 'longkeys',
    config: { backends: [], ...budget, ...(args['default-key-length'] ? {} : { maxKeyLength: 65_536 }) },
    packets: () => longKeys(N_LONG),
    what: `${N_LONG} counter keys of 10,000 bytes${args['default-key-length'] ? ' (default maxKeyLength)' : ' (maxKeyLength 65536)'}${budget.keyTableBytes === undefined ? '' : `, keyTableBytes ${budget.keyTableBytes}`}`,
    every: 5,
    result: () => '',
  },
  {
    name: 'sets',
    config: { flushInterval: 60_000 },
    packets: () => setMembers(N_SET),
    what: `${N_SET} unique members of one set in one interval`,
    result: (f) => `rep.set count (all flushes) ${String(f['sets']?.['rep.set'])}`,
  },
];

const only = new Set(args.only.split(','));
console.log(`daemon: ${MAIN}`);
for (const sc of scenarios) {
  if (!only.has(sc.name)) continue;
  const d = await start(sc.config);
  await sleep(500);
  const before = rssMiB(d.pid);
  let peak = before;
  const peakTimer = setInterval(() => (peak = Math.max(peak, rssMiB(d.pid) || 0)), 100);
  const t0 = Date.now();
  const sent = await send(d.udpPort, sc.packets(), sc.every ?? 100);
  await sleep(1500);
  const after = rssMiB(d.pid);
  clearInterval(peakTimer);
  const stats = d.alive() ? await admin(d.mgmtPort, 'stats') : '';
  const pick = (k: string): string =>
    /^(.*): (.*)$/m.test(stats) ? (new RegExp(`${k.replace(/\./g, '\\.')}: (\\S+)`).exec(stats)?.[1] ?? '-') : '-';
  console.log(
    `${sc.name.padEnd(10)} ${sc.what}: ${sent} packets in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
      `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB (+${(after - before).toFixed(0)}, peak ${Math.max(peak, after).toFixed(0)}); up: ${d.alive()}; ` +
      `bad_lines_seen ${pick('messages.bad_lines_seen')}, keys_dropped ${pick('messages.keys_dropped')}, set_members_dropped ${pick('messages.set_members_dropped')}, key_table_bytes ${pick('messages.key_table_bytes')}`,
  );
  const alive = d.alive();
  const flush = await d.stop();
  const r = sc.result(flush);
  if (alive && r !== '') console.log(`${''.padEnd(10)} ${r}`);
}
