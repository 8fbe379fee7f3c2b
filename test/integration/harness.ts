/**
 * Black-box test harness: spawn the built daemon on a real config file, send real UDP packets,
 * read what a real TCP "Graphite" listener receives, talk to the admin port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');

export interface GraphiteLine {
  path: string;
  value: number;
  ts: number;
}

/** A plaintext Graphite receiver on 127.0.0.1 that records every line. */
export class FakeGraphite {
  readonly lines: GraphiteLine[] = [];
  readonly raw: string[] = [];
  connections = 0;
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor() {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      let pending = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          this.raw.push(line);
          const parts = line.split(' ');
          this.lines.push({ path: parts[0]!, value: Number(parts[1]), ts: Number(parts[2]) });
        }
      });
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(port, '127.0.0.1', () => res());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  /** Values seen for one path, in arrival order. */
  values(path: string): number[] {
    return this.lines.filter((l) => l.path === path).map((l) => l.value);
  }

  has(path: string): boolean {
    return this.lines.some((l) => l.path === path);
  }

  /** Lines of the flushes that carried `path`, grouped by timestamp. */
  byTimestamp(): Map<number, Map<string, number>> {
    const m = new Map<number, Map<string, number>>();
    for (const l of this.lines) {
      let f = m.get(l.ts);
      if (!f) m.set(l.ts, (f = new Map()));
      f.set(l.path, l.value);
    }
    return m;
  }
}

/** Polls `fn` (every `everyMs`) until it returns a value other than undefined/false/null, which it returns. */
export async function waitFor<T>(fn: () => T | undefined | false | null, timeoutMs = 10_000, what = 'condition', everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** As waitFor, for a condition that must be fetched (an HTTP request, an admin command). */
export async function waitForAsync<T>(
  fn: () => Promise<T | undefined | false | null>,
  timeoutMs = 10_000,
  what = 'condition',
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An assertion that nothing more happens: waits `ms` (a quiet period in which nothing is expected
 * to arrive), checking `check` every 100 ms and at the end; its first failure fails the test. The one
 * fixed wait the black-box tests keep: absence can only be watched for a while.
 */
export async function expectQuietFor(ms: number, check: () => void = () => undefined): Promise<void> {
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    check();
    await sleep(Math.min(100, left));
  }
  check();
}

/**
 * Pacing of a test's sender (a short pause every so many packets) so that a loaded machine's socket
 * buffers do not overflow: not a wait for anything.
 */
export const pace = (ms = 2): Promise<void> => sleep(ms);

/** Waits until the wall clock reads `atMs` (a scenario's moment, e.g. a signal at a given phase of a flush interval). */
export async function untilTime(atMs: number): Promise<void> {
  const left = atMs - Date.now();
  if (left > 0) await sleep(left);
}

/** Waits until the wall clock is `fromMs`..`toMs` into a `periodMs` period (e.g. just after a clock-aligned flush). */
export async function clockPhase(periodMs: number, fromMs: number, toMs: number): Promise<void> {
  const inWindow = (): boolean => {
    const p = Date.now() % periodMs;
    return p >= fromMs && p <= toMs;
  };
  if (inWindow()) return;
  await sleep((fromMs - (Date.now() % periodMs) + periodMs) % periodMs);
  await waitFor(inWindow, periodMs * 2, `${fromMs}..${toMs} ms into a ${periodMs} ms period`);
}

export interface RunningDaemon {
  proc: ChildProcess;
  udpPort: number;
  tcpPorts: number[];
  mgmtPort: number;
  stdout: string[];
  stderr: string[];
  configFile: string;
  dir: string;
  send(payload: string | Buffer): Promise<void>;
  admin(cmd: string): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** A 127.0.0.1 port that was free a moment ago (for what cannot listen on port 0 and report it), TCP or UDP. */
export async function freePort(kind: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Write `configText` (an original-style JS object literal or JSON) to a temp file and start tallyd on it. */
export async function startDaemon(configText: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-test-'));
  const configFile = join(dir, 'config.js');
  writeFileSync(configFile, configText);
  const proc = spawn(process.execPath, [MAIN, configFile, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let outBuf = '';
  let errBuf = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    outBuf += d;
    let nl: number;
    while ((nl = outBuf.indexOf('\n')) >= 0) {
      stdout.push(outBuf.slice(0, nl));
      outBuf = outBuf.slice(nl + 1);
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    errBuf += d;
    let nl: number;
    while ((nl = errBuf.indexOf('\n')) >= 0) {
      stderr.push(errBuf.slice(0, nl));
      errBuf = errBuf.slice(nl + 1);
    }
  });
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));

  const up = await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`tallyd exited with ${exitCode}: ${stderr.join('\n')}`);
      for (const l of stderr) {
        if (!l.startsWith('{')) continue;
        const j = JSON.parse(l) as { msg?: string; listeners?: string[]; mgmt?: string };
        if (j.msg === 'tallyd is up') return j;
      }
      return undefined;
    },
    15_000,
    'tallyd to start',
  );
  const ports = (kind: string): number[] =>
    (up.listeners ?? [])
      .filter((d) => d.startsWith(kind + ' ') && !d.includes('unix:'))
      .map((d) => Number(d.slice(d.lastIndexOf(':') + 1)));
  const udpPort = ports('udp')[0] ?? 0;
  const mgmtPort = Number(up.mgmt!.slice(up.mgmt!.lastIndexOf(':') + 1));
  const sock = dgram.createSocket('udp4');
  sock.unref();
  return {
    proc,
    udpPort,
    tcpPorts: ports('tcp'),
    mgmtPort,
    stdout,
    stderr,
    configFile,
    dir,
    exited,
    send: (payload) =>
      new Promise<void>((res, rej) =>
        sock.send(typeof payload === 'string' ? Buffer.from(payload) : payload, udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())),
      ),
    admin: (cmd) => adminCommand(mgmtPort, cmd),
    stop: async (signal = 'SIGTERM') => {
      if (exitCode === undefined) proc.kill(signal);
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        proc.kill('SIGKILL');
        throw new Error('tallyd did not stop within 15 s');
      }
      sock.close();
      return code;
    },
  };
}

/** Send one admin command and collect the answer until END (or a one-line answer). */
export function adminCommand(port: number, cmd: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1');
    let data = '';
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(data);
    };
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`admin '${cmd}' timed out; got: ${JSON.stringify(data)}`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d: string) => {
      data += d;
      if (data.endsWith('END\n\n') || /^(health: \w+|ERROR)\n$/.test(data) || (data.startsWith('Commands:') && data.endsWith('\n\n')))
        done();
    });
    s.on('end', done);
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** An original-style config (JS object literal with comments and leading commas). */
export function originalStyleConfig(graphitePort: number, extra = ''): string {
  return `/* written by the tallyd tests, in the style of the original exampleConfig.js */
{
  graphitePort: ${graphitePort}
, graphiteHost: "127.0.0.1"
, port: 0                 // any free port
, address: '127.0.0.1'
, mgmt_port: 0
, statusPage: { port: 0 } // not the default 127.0.0.1:8127, which the tests' daemons would contend for
, flushInterval: 1000
, backends: [ "./backends/graphite" ]
${extra}
}
`;
}

/** The flush (by timestamp, later than `after`) that carries `path`, as path → value. */
export async function flushWith(graphite: FakeGraphite, path: string, after = 0): Promise<Map<string, number>> {
  return waitFor(
    () => {
      for (const [ts, flush] of graphite.byTimestamp()) if (ts > after && flush.has(path)) return flush;
      return undefined;
    },
    10_000,
    `a flush with ${path}`,
  );
}

/** A test's FakeGraphite (fresh and listening for each test) and its daemon (set it; stopped after the test). */
export interface GraphiteAndDaemon {
  readonly graphite: FakeGraphite;
  daemon: RunningDaemon | undefined;
}

/** Registers the beforeEach/afterEach hooks of a file whose tests share one FakeGraphite and one daemon. */
export function useGraphiteAndDaemon(): GraphiteAndDaemon {
  let graphite: FakeGraphite | undefined;
  const env: GraphiteAndDaemon = {
    get graphite(): FakeGraphite {
      if (graphite === undefined) throw new Error('the FakeGraphite exists only inside a test');
      return graphite;
    },
    daemon: undefined,
  };
  beforeEach(async () => {
    graphite = new FakeGraphite();
    await graphite.listen();
  });
  afterEach(async () => {
    if (env.daemon) await env.daemon.stop().catch(() => undefined);
    env.daemon = undefined;
    await graphite?.close();
    graphite = undefined;
  });
  return env;
}

/** Per-test clean-ups (run newest first after each test, errors ignored) and set-up helpers that register theirs. */
export interface CleanupScope {
  readonly cleanups: Array<() => Promise<unknown>>;
  /** A FakeGraphite listening on `port` (0: any). */
  graphiteOn(port?: number): Promise<FakeGraphite>;
  /** tallyd started on `configText`. */
  daemonOn(configText: string): Promise<RunningDaemon>;
  /** A FakeGraphite and tallyd on an original-style config pointed at it, plus `extra`. */
  setup(extra: string): Promise<{ g: FakeGraphite; d: RunningDaemon }>;
}

/** Registers the afterEach hook that runs the clean-ups each test added. */
export function useCleanups(): CleanupScope {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  const graphiteOn = async (port = 0): Promise<FakeGraphite> => {
    const g = new FakeGraphite();
    await g.listen(port);
    cleanups.push(() => g.close());
    return g;
  };
  const daemonOn = async (configText: string): Promise<RunningDaemon> => {
    const d = await startDaemon(configText);
    cleanups.push(() => d.stop());
    return d;
  };
  return {
    cleanups,
    graphiteOn,
    daemonOn,
    setup: async (extra) => {
      const g = await graphiteOn();
      const d = await daemonOn(originalStyleConfig(g.port, extra));
      return { g, d };
    },
  };
}

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** `name: value` lines of the admin `stats` answer. */
export function statsMap(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 2));
  }
  return m;
}

/** Polls the admin `stats` answer (as name → value) until `ok` holds; returns that answer. */
export async function waitStats(
  d: RunningDaemon,
  ok: (s: Map<string, string>) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<Map<string, string>> {
  return waitForAsync(
    async () => {
      const s = statsMap(await d.admin('stats'));
      return ok(s) ? s : undefined;
    },
    timeoutMs,
    what,
  );
}

/** A stat of the admin `stats` answer as a number (NaN when absent). */
export const stat = (s: Map<string, string>, name: string): number => Number(s.get(name));

/** Waits for a stderr JSON log record whose msg contains `text` (the daemon's own signal); returns it. */
export async function waitLog(d: RunningDaemon, text: string, timeoutMs = 15_000): Promise<LogRecord> {
  return waitFor(
    () => {
      for (const l of d.stderr) {
        if (!l.startsWith('{') || !l.includes(text)) continue;
        const r = JSON.parse(l) as LogRecord;
        if (r.msg.includes(text)) return r;
      }
      return undefined;
    },
    timeoutMs,
    `a log record '${text}'`,
  );
}

/**
 * Waits for the next whole flush at `graphite` (its last line, graphiteStats.flush_length, under a
 * timestamp later than the latest it has now, or than `after`); returns its timestamp. What the daemon
 * held when it was called has been flushed by then: "the next flush adds nothing" needs no fixed wait.
 */
export async function nextFlush(graphite: FakeGraphite, after = latestTs(graphite)): Promise<number> {
  return waitFor(
    () => {
      for (let i = graphite.lines.length - 1; i >= 0; i--) {
        const l = graphite.lines[i]!;
        if (l.ts > after && l.path.includes('graphiteStats.flush_length')) return l.ts;
      }
      return undefined;
    },
    15_000,
    `a whole flush after ${after}`,
  );
}

/** The latest flush timestamp `graphite` has received (0: none yet). */
export function latestTs(graphite: FakeGraphite): number {
  let ts = 0;
  for (const l of graphite.lines) if (l.ts > ts) ts = l.ts;
  return ts;
}

/** Polls the admin `counters` answer until it contains `text` (the daemon has taken those lines in). */
export async function waitCounters(d: RunningDaemon, text: string, timeoutMs = 5000): Promise<void> {
  await waitForAsync(async () => (await d.admin('counters')).includes(text), timeoutMs, `admin counters to show ${text}`);
}

/** A parsed stderr JSON log record. */
export interface LogRecord {
  level: number;
  msg: string;
  component?: string;
  problems?: string[];
  err?: { message?: string };
  [k: string]: unknown;
}

/** stderr's JSON log lines, parsed; throws on a line that is not JSON (stderr has one format). */
export function logRecords(stderr: string): LogRecord[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogRecord;
      } catch {
        throw new Error(`stderr line is not a JSON log record: ${l}`);
      }
    });
}

/** stderr as text to match: each record's msg, then its problems one per line (and an err's message). */
export function logText(stderr: string): string {
  return logRecords(stderr)
    .map((r) => [r.msg, ...(r.problems ?? []), ...(r.err?.message === undefined ? [] : [r.err.message])].join('\n'))
    .join('\n');
}

/** The status page's base URL, as the daemon reported it in `tallyd is up` (`statusPage.port: 0`). */
export function statusUrl(d: RunningDaemon): string {
  for (const l of d.stderr) {
    if (!l.startsWith('{')) continue;
    const j = JSON.parse(l) as { msg?: string; status?: string };
    if (j.msg === 'tallyd is up' && j.status !== undefined) return j.status;
  }
  throw new Error('the daemon did not report its status page');
}

/**
 * The JSON lines a recording plug-in (test/fixtures/plugins/recorder.cjs) has written so far: whole
 * lines only, since the plug-in may be writing the last one; [] before the file exists.
 */
export function readRecordings<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}
