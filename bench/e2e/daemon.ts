/**
 * Spawns the daemon under test: tallyd (the built dist/src/main.js) or, when asked, the original
 * statsd (node stats.js CONFIG). Both flush to the bench's Graphite sink and listen on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, sleep, stopChild, trackChild } from './proc.js';

export interface DaemonOptions {
  graphitePort: number;
  flushInterval: number;
  /** udpRecvBuffer for tallyd; the original has no such setting. */
  recvBuffer: number;
  /** Drop idle keys at each flush (the original's deleteIdleStats), so that flushes hold only the live step's keys. */
  deleteIdle: boolean;
  /** More tallyd config keys (ignored for the original). */
  extra?: Record<string, unknown>;
}

export interface DaemonHandle {
  readonly name: 'tallyd' | 'statsd';
  readonly pid: number;
  readonly udpPort: number;
  /** SO_RCVBUF granted, as tallyd logs it; null for the original. */
  readonly grantedRecvBuffer: number | null;
  /** The last lines of its output, for error messages. */
  tail(): string;
  /** Lines of its output (stdout and stderr) seen so far that contain `text`. */
  countLines(text: string): number;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

/** Keeps the last `max` lines of a stream (and always drains it, so the child never blocks on a full pipe). */
class LineTail {
  readonly lines: string[] = [];
  /** Substrings counted over every line (not only the kept ones), registered by countLines. */
  readonly counts = new Map<string, number>();
  private buf = '';
  constructor(private readonly max = 200) {}
  push(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      for (const [text, n] of this.counts) if (line.includes(text)) this.counts.set(text, n + 1);
      this.lines.push(line);
      this.buf = this.buf.slice(nl + 1);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
}

function spawnNode(script: string, configFile: string, cwd: string): { child: ChildProcess; out: LineTail; exit: Promise<number | null> } {
  const child = trackChild(spawn(process.execPath, [script, configFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  const out = new LineTail();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => out.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => out.push(d));
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, out, exit };
}

async function waitForLine<T>(
  out: LineTail,
  exit: Promise<number | null>,
  what: string,
  match: (line: string) => T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  let exited: number | null | undefined;
  void exit.then((c) => (exited = c));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const l of out.lines) {
      const v = match(l);
      if (v !== undefined) return v;
    }
    if (exited !== undefined) throw new Error(`${what} exited with ${exited} before it was up:\n${out.lines.slice(-20).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${what} was not up within ${timeoutMs} ms:\n${out.lines.slice(-20).join('\n')}`);
    await sleep(25);
  }
}

function tempConfig(text: string, name: string): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-bench-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start the built tallyd on 127.0.0.1 (UDP and admin on ephemeral ports) and wait for "tallyd is up". */
export async function startTallyd(root: string, o: DaemonOptions): Promise<DaemonHandle> {
  const config = {
    port: 0,
    address: '127.0.0.1',
    mgmt_address: '127.0.0.1',
    mgmt_port: 0,
    flushInterval: o.flushInterval,
    graphiteHost: '127.0.0.1',
    graphitePort: o.graphitePort,
    backends: ['graphite'],
    udpRecvBuffer: o.recvBuffer,
    deleteIdleStats: o.deleteIdle,
    ...o.extra,
  };
  const cfg = tempConfig(JSON.stringify(config, null, 2), 'tallyd-bench.json');
  const { child, out, exit } = spawnNode(join(root, 'dist', 'src', 'main.js'), cfg.file, root);
  void exit.then(cfg.cleanup);
  try {
    const up = await waitForLine(out, exit, 'tallyd', (l) => {
      if (!l.startsWith('{') || !l.includes('tallyd is up')) return undefined;
      return JSON.parse(l) as { listeners?: string[] };
    });
    const udp = (up.listeners ?? []).find((d) => d.startsWith('udp '));
    if (udp === undefined) throw new Error(`tallyd reported no UDP listener: ${JSON.stringify(up)}`);
    let granted: number | null = null;
    for (const l of out.lines) {
      if (l.startsWith('{') && l.includes('"granted"')) granted = (JSON.parse(l) as { granted?: number }).granted ?? null;
    }
    return {
      name: 'tallyd',
      pid: child.pid!,
      udpPort: Number(udp.slice(udp.lastIndexOf(':') + 1)),
      grantedRecvBuffer: granted,
      tail: () => out.lines.slice(-20).join('\n'),
      countLines: (text) => {
        const n = out.counts.get(text);
        if (n !== undefined) return n;
        // first asked: count what is still kept, then every line from here on
        const kept = out.lines.filter((l) => l.includes(text)).length;
        out.counts.set(text, kept);
        return kept;
      },
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/**
 * Start the original statsd (`node stats.js CONFIG`, from its own folder) on free ports. It cannot
 * bind port 0 and report it, so the ports are picked just before; it has no receive-buffer setting
 * (the kernel default, net.core.rmem_default, applies).
 */
export async function startOriginal(statsJs: string, o: DaemonOptions): Promise<DaemonHandle> {
  const udpPort = await freePort('udp');
  const mgmtPort = await freePort('tcp');
  const text = `{
  port: ${udpPort}
, address: "127.0.0.1"
, mgmt_address: "127.0.0.1"
, mgmt_port: ${mgmtPort}
, flushInterval: ${o.flushInterval}
, graphiteHost: "127.0.0.1"
, graphitePort: ${o.graphitePort}
, backends: [ "./backends/graphite" ]
, deleteIdleStats: ${o.deleteIdle}
}
`;
  const cfg = tempConfig(text, 'statsd-bench-config.js');
  const { child, out, exit } = spawnNode(statsJs, cfg.file, dirname(statsJs));
  void exit.then(cfg.cleanup);
  try {
    await waitForLine(out, exit, 'statsd', (l) => (l.includes('server is up') ? true : undefined));
    await sleep(300); // "server is up" is logged as bind() is called, not when it completes
    return {
      name: 'statsd',
      pid: child.pid!,
      udpPort,
      grantedRecvBuffer: null,
      tail: () => out.lines.slice(-20).join('\n'),
      countLines: (text) => out.lines.filter((l) => l.includes(text)).length,
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
