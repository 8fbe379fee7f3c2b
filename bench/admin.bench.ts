/**
 * Admin commands over many keys while ingest runs (issue 9, item 14).
 *
 *   npm run build && node dist/bench/admin.bench.js [--keys 1000000] [--patterns 8500] [--main other/dist/src/main.js ...]
 *
 * For each daemon (this build, or each `--main`, e.g. an older build as the baseline): `--keys` counter
 * keys spread over `--patterns` folders are created over UDP; then, while counters stream in over UDP
 * (~20k lines/s), `counters` (a dump of every key) and `delcounters f1.* f2.* …` (one folder pattern per
 * folder, in one command line) run. Prints each command's answer time, the streamed counts sent against
 * those Graphite received, and the kernel's receive drops (admin `messages.udp_receive_errors`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sums `stats_counts.<watched>` over every flush. */
class Sink {
  sum = 0;
  flushes = 0;
  private readonly server: net.Server;
  port = 0;
  constructor(private readonly watched: string) {
    this.server = net.createServer((s) => {
      let pending = '';
      s.setEncoding('utf8');
      s.on('error', () => undefined);
      s.on('data', (d: string) => {
        pending += d;
        const last = pending.lastIndexOf('\n');
        if (last < 0) return;
        const text = pending.slice(0, last + 1);
        pending = pending.slice(last + 1);
        const needle = `\n${this.watched} `;
        for (let i = ('\n' + text).indexOf(needle); i >= 0; i = ('\n' + text).indexOf(needle, i + 1)) {
          const start = i + needle.length - 1;
          this.sum += Number(text.slice(start, text.indexOf(' ', start)));
        }
        if (text.includes('statsd.numStats ')) this.flushes++;
      });
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  close(): void {
    this.server.close();
  }
}

function admin(port: number, cmd: string, timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1');
    const parts: string[] = [];
    let tail = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`admin '${cmd.slice(0, 30)}' timed out`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d: string) => {
      parts.push(d);
      tail = (tail + d).slice(-8);
      if (tail.endsWith('END\n\n') || /health: \w+\n$/.test(tail)) {
        clearTimeout(timer);
        s.destroy();
        resolve(parts.join(''));
      }
    });
    s.on('error', reject);
  });
}

async function run(main: string, keys: number, folders: number): Promise<void> {
  const sink = new Sink('stats_counts.bench.during');
  await sink.listen();
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-admin-bench-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      graphiteHost: '127.0.0.1',
      graphitePort: sink.port,
      backends: ['graphite'],
      flushInterval: 5000,
      port: 0,
      address: '127.0.0.1',
      mgmt_port: 0,
      logLevel: 'warn',
      maxKeys: keys + 1000,
    }),
  );
  const proc: ChildProcess = spawn(process.execPath, ['--max-old-space-size=4096', main, cfg, '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const up = await new Promise<{ udp: number; mgmt: number }>((res, rej) => {
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const u = /"listeners":\["udp [^"]*:(\d+)"/.exec(err);
      const m = /"mgmt":"[^"]*:(\d+)"/.exec(err);
      if (u && m) res({ udp: Number(u[1]), mgmt: Number(m[1]) });
    });
    proc.on('exit', (c) => rej(new Error(`daemon exited ${c}: ${err.slice(-2000)}`)));
  });
  const udp = dgram.createSocket('udp4');
  const send = (text: string): Promise<void> => new Promise((res) => udp.send(text, up.udp, '127.0.0.1', () => res()));
  try {
    const name = (f: number): string => `f${f.toString(36)}`;
    const t0 = performance.now();
    for (let i = 0; i < keys; ) {
      for (let p = 0; p < 20 && i < keys; p++) {
        let text = '';
        for (let n = 0; n < 60 && i < keys; n++, i++) text += `${name(i % folders)}.m${i}:1|c\n`;
        await send(text);
      }
      await sleep(2);
    }
    await sleep(2000); // the last packets read
    let listed = 0;
    console.log(`${main}`);
    console.log(`  ${keys} keys in ${folders} folders sent in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const during = 'bench.during:1|c\n'.repeat(40);
    let sent = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await send(during);
        sent += 40;
        await sleep(2);
      }
    })();
    await sleep(500);
    let t = performance.now();
    const dump = await admin(up.mgmt, 'counters');
    listed = (dump.match(/\n {2}'f/g) ?? []).length;
    console.log(
      `  counters: ${listed} keys listed, ${(dump.length / 1e6).toFixed(1)} MB, answered in ${((performance.now() - t) / 1000).toFixed(2)} s`,
    );
    const line = 'delcounters ' + Array.from({ length: folders }, (_, f) => name(f) + '.*').join(' ');
    t = performance.now();
    const answer = await admin(up.mgmt, line);
    const deleted = (answer.match(/\ndeleted: /g) ?? []).length + (answer.startsWith('deleted: ') ? 1 : 0);
    console.log(
      `  delcounters with ${folders} patterns (${(line.length / 1024).toFixed(1)} KiB line): ${deleted} deleted, answered in ${((performance.now() - t) / 1000).toFixed(2)} s`,
    );
    await sleep(500);
    streaming = false;
    await stream;
    const deadline = Date.now() + 30_000;
    while (sink.sum < sent && Date.now() < deadline) await sleep(250);
    const stats = await admin(up.mgmt, 'stats');
    const drops = /messages\.udp_receive_errors: (\S+)/.exec(stats)?.[1] ?? 'n/a';
    console.log(
      `  streamed during the commands: ${sent} counts sent, ${sink.sum} in Graphite (${sent - sink.sum} lost); kernel receive drops: ${drops}`,
    );
  } finally {
    proc.kill('SIGKILL');
    udp.close();
    sink.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '1000000' },
      patterns: { type: 'string', default: '8500' },
      main: { type: 'string', multiple: true },
    },
  });
  const mains = values.main ?? [join(import.meta.dirname, '..', 'src', 'main.js')];
  for (const m of mains) await run(m, Number(values.keys), Number(values.patterns));
}

void main();
