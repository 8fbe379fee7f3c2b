/**
 * Soak: tallyd under a steady mixed load for a long time (10 minutes by default) while everything
 * around it misbehaves at once:
 *   - Graphite restarts (the sink's listener and connections closed for a few seconds, then back);
 *   - SIGHUP reloads with a changed config (percentThreshold toggled);
 *   - TCP abuse on the TCP input: idle connections past the cap, and slowloris senders trickling bytes;
 *   - garbage datagrams (random bytes and malformed lines) mixed into the valid traffic.
 * At the end the load stops, the daemon is stopped with SIGTERM (its last flush included), and the
 * counts the sink stored (last write wins per name and timestamp, as whisper does) are compared with
 * the counter lines sent. It prints RSS over time, the kernel's UDP drops and a verdict:
 * 0 counts lost, and RSS flat after warm-up (the last third's median within 15 % of the first third's).
 *
 *   npm run build && node dist/bench/soak.js [--seconds 600] [--rate 4000] [--lines 10]
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { freePort, killAllChildren, memoryStatus, repoRoot, sleep, stopChild, trackChild, udpRcvbufErrors } from './e2e/proc.js';

/** A Graphite plaintext sink on a fixed port that can be taken down and brought back. */
class RestartableSink {
  /** `name ts` → value: what whisper would keep (one value per name and step). */
  readonly stored = new Map<string, number>();
  lines = 0;
  restarts = 0;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly port: number,
    private readonly keep: (name: string) => boolean,
  ) {}

  async up(): Promise<void> {
    const server = net.createServer((sock) => {
      this.sockets.add(sock);
      let pending = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        pending += d;
        let nl: number;
        let from = 0;
        while ((nl = pending.indexOf('\n', from)) >= 0) {
          this.line(pending.slice(from, nl));
          from = nl + 1;
        }
        pending = pending.slice(from);
      });
      sock.on('error', () => undefined);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((res, rej) => server.once('error', rej).listen(this.port, '127.0.0.1', () => res()));
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((res) => s.close(() => res()));
    this.restarts++;
  }

  private line(l: string): void {
    this.lines++;
    const a = l.indexOf(' ');
    const b = l.indexOf(' ', a + 1);
    if (a <= 0 || b <= 0) return;
    const name = l.slice(0, a);
    if (!this.keep(name)) return;
    this.stored.set(name + ' ' + l.slice(b + 1), Number(l.slice(a + 1, b)));
  }

  sum(): number {
    let s = 0;
    for (const v of this.stored.values()) s += v;
    return s;
  }
}

function configText(o: { udp: number; tcp: number; graphite: number; flushInterval: number; pct: number[] }): string {
  return JSON.stringify(
    {
      servers: [
        { server: 'udp', address: '127.0.0.1', port: o.udp },
        { server: 'tcp', address: '127.0.0.1', port: o.tcp },
      ],
      mgmt_address: '127.0.0.1',
      mgmt_port: 0,
      flushInterval: o.flushInterval,
      graphiteHost: '127.0.0.1',
      graphitePort: o.graphite,
      backends: ['graphite'],
      percentThreshold: o.pct,
      deleteIdleStats: true,
      udpRecvBuffer: 16 * 1024 * 1024,
    },
    null,
    2,
  );
}

/** Random garbage and malformed lines, a few hundred datagrams a second. */
function garbage(port: number, stopAt: () => boolean): Promise<number> {
  const sock = dgram.createSocket('udp4');
  const bad = ['nocolon', 'k:|c', 'k:1|zz', ':1|c', 'k:abc|ms', 'k:1|c|@x', '!!!:1|c', 'k:1|c|#', 'k:1e400|c', '\x00\xff:1|c'];
  let sent = 0;
  return new Promise((res) => {
    const tick = (): void => {
      if (stopAt()) {
        sock.close();
        res(sent);
        return;
      }
      for (let i = 0; i < 20; i++) {
        const b =
          i % 2 === 0
            ? Buffer.from(bad[(sent + i) % bad.length]!)
            : Buffer.from(Array.from({ length: 1 + ((sent * 7 + i) % 300) }, (_, j) => (sent * 31 + j * 17) & 0xff));
        sock.send(b, port, '127.0.0.1');
        sent++;
      }
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** Idle TCP connections (up to `count`) and slowloris senders trickling valid bytes. */
function tcpAbuse(port: number, count: number, stopAt: () => boolean): Promise<{ opened: number; refused: number }> {
  const socks = new Set<net.Socket>();
  let opened = 0;
  let refused = 0;
  return new Promise((res) => {
    const tick = (): void => {
      if (stopAt()) {
        for (const s of socks) s.destroy();
        res({ opened, refused });
        return;
      }
      for (let i = 0; i < 10 && socks.size < count; i++) {
        const s = net.createConnection(port, '127.0.0.1');
        socks.add(s);
        opened++;
        s.on('error', () => undefined);
        s.on('close', () => {
          socks.delete(s);
          refused++;
        });
      }
      // a tenth of them trickle a long line, one byte at a time
      let i = 0;
      for (const s of socks) if (i++ % 10 === 0 && s.writable) s.write('x');
      setTimeout(tick, 200);
    };
    tick();
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '600' },
      rate: { type: 'string', default: '4000' },
      lines: { type: 'string', default: '10' },
      flush: { type: 'string', default: '1000' },
    },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const lines = Number(values.lines);
  const flushInterval = Number(values.flush);
  const root = repoRoot();
  const blast = buildLoadgen(root);

  const [udp, tcp, gport] = [await freePort('udp'), await freePort('tcp'), await freePort('tcp')];
  const sink = new RestartableSink(gport, (n) => n.startsWith('stats_counts.soak.c'));
  await sink.up();
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-soak-'));
  const cfgFile = join(dir, 'soak.json');
  const pctSets = [[90], [90, 99]];
  writeFileSync(cfgFile, configText({ udp, tcp, graphite: gport, flushInterval, pct: pctSets[0]! }));
  const child = trackChild(
    spawn(process.execPath, [join(root, 'dist', 'src', 'main.js'), cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let errText = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    errText += d;
    if (errText.length > 1 << 20) errText = errText.slice(-(1 << 19));
  });
  const crashed = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  for (let i = 0; i < 300 && !errText.includes('tallyd is up'); i++) await sleep(50);
  if (!errText.includes('tallyd is up')) throw new Error(`tallyd did not start:\n${errText.slice(-2000)}`);
  const pid = child.pid!;

  const drops0 = udpRcvbufErrors();
  const t0 = Date.now();
  const endAt = t0 + seconds * 1000;
  const over = (): boolean => Date.now() >= endAt;
  const rss: Array<{ t: number; mib: number }> = [];
  let reloads = 0;
  let exitedEarly: number | null | undefined;
  void crashed.then((c) => (exitedEarly = c));

  const faults = (async () => {
    let n = 0;
    while (!over() && exitedEarly === undefined) {
      await sleep(1000);
      n++;
      const m = memoryStatus(pid);
      if (m) rss.push({ t: (Date.now() - t0) / 1000, mib: m.rssBytes / 1048576 });
      if (n % 45 === 0) {
        writeFileSync(cfgFile, configText({ udp, tcp, graphite: gport, flushInterval, pct: pctSets[reloads % 2 === 0 ? 1 : 0]! }));
        child.kill('SIGHUP');
        reloads++;
      }
      if (n % 60 === 30) {
        await sink.down();
        await sleep(Math.min(5000, (endAt - Date.now()) / 2));
        await sink.up();
      }
    }
  })();
  const [sent, garbageSent, abuse] = await Promise.all([
    runBlast(blast, { port: udp, rate, seconds, lines, keys: 200, mix: 'ctgs', prefix: 'soak' }),
    garbage(udp, over),
    tcpAbuse(tcp, 200, over),
    faults,
  ]);
  // two more flushes, then a stop (the last partial interval is flushed on SIGTERM)
  await sleep(2 * flushInterval + 500);
  const drops = (udpRcvbufErrors() ?? 0) - (drops0 ?? 0);
  const alive = exitedEarly === undefined;
  await stopChild(child, 20_000);
  await sleep(500);
  await sink.down();
  rmSync(dir, { recursive: true, force: true });

  const delivered = sink.sum();
  const lost = sent.sentCounterLines - delivered;
  const warm = rss.filter((r) => r.t > Math.min(60, seconds / 4));
  const third = Math.max(1, Math.floor(warm.length / 3));
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)]! : NaN;
  };
  const early = med(warm.slice(0, third).map((r) => r.mib));
  const late = med(warm.slice(-third).map((r) => r.mib));
  const growth = late / early - 1;
  const badLog = (errText.match(/"bad line/g) ?? []).length;

  const out: string[] = [];
  out.push(
    `## Soak: ${seconds} s at ${rate} packets/s × ${lines} lines (counters, timers, gauges, sets), flushInterval ${flushInterval} ms`,
    '',
  );
  out.push('| figure | value |', '|---|---|');
  out.push(`| counter lines sent | ${sent.sentCounterLines.toLocaleString('en-US')} |`);
  out.push(`| counts stored at the sink (last write per name and timestamp) | ${delivered.toLocaleString('en-US')} |`);
  out.push(`| counts lost | ${lost.toLocaleString('en-US')} |`);
  out.push(`| kernel UDP receive-buffer drops during the run (all sockets) | ${drops} |`);
  out.push(`| Graphite restarts / SIGHUP reloads | ${sink.restarts - 1} / ${reloads} |`);
  out.push(`| garbage datagrams sent | ${garbageSent.toLocaleString('en-US')} |`);
  out.push(`| TCP connections opened / closed by the daemon or refused | ${abuse.opened} / ${abuse.refused} |`);
  out.push(`| daemon alive until the stop | ${alive ? 'yes' : `no (exit ${exitedEarly})`} |`);
  out.push(`| bad-line log lines (rate-limited) | ${badLog} |`);
  out.push(
    `| RSS median, first third after warm-up → last third | ${early.toFixed(1)} → ${late.toFixed(1)} MiB (${(growth * 100).toFixed(1)} %) |`,
  );
  out.push('');
  out.push('RSS over time (MiB, one sample per ~10 % of the run):', '');
  const step = Math.max(1, Math.floor(rss.length / 10));
  out.push(
    rss
      .filter((_, i) => i % step === 0)
      .map((r) => `${r.t.toFixed(0)} s: ${r.mib.toFixed(1)}`)
      .join(' · '),
    '',
  );
  const okLoss = lost === 0;
  const okRss = growth < 0.15;
  out.push(
    `Verdict: counts lost ${okLoss ? '0 — met' : `${lost} — MISSED`}; RSS ${okRss ? 'flat — met' : 'grew — MISSED'}; daemon ${alive ? 'up' : 'DIED'}.`,
  );
  process.stdout.write(out.join('\n') + '\n');
  process.exitCode = okLoss && okRss && alive ? 0 : 1;
}

main().catch((err) => {
  killAllChildren();
  process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
