/**
 * Helpers for the proxy's black-box tests: fake statsd nodes (a UDP socket that records every
 * datagram, an admin port answering `health`), `tallyd proxy` and the original statsd 0.9.0
 * proxy.js (devDependency) spawned on a config.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './carbon.js';
import { MAIN, pace, sleep, waitFor, waitForAsync } from './harness.js';

/** A statsd node as a proxy sees it: datagrams in, an admin port that answers `health`. */
export class FakeNode {
  readonly datagrams: Buffer[] = [];
  /** Date.now() at each datagram's arrival, index-aligned with datagrams. */
  readonly arrivals: number[] = [];
  /** What the admin port answers: 'up', 'down', or 'closed' (the port refuses connections). */
  health: 'up' | 'down' = 'up';
  port = 0;
  adminport = 0;
  private udp = dgram.createSocket('udp4');
  private admin: net.Server | null = null;

  async start(adminport = 0): Promise<this> {
    this.udp.on('message', (m) => {
      this.datagrams.push(m);
      this.arrivals.push(Date.now());
    });
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', () => r()));
    this.udp.setRecvBufferSize(16 * 1024 * 1024);
    this.port = this.udp.address().port;
    await this.openAdmin(adminport);
    return this;
  }

  async openAdmin(port = this.adminport): Promise<void> {
    const server = net.createServer((s) => {
      s.on('data', () => s.write(`health: ${this.health}\n`));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    this.adminport = (server.address() as net.AddressInfo).port;
    this.admin = server;
  }

  /** The admin port refuses connections from now on (as if the process died). */
  async closeAdmin(): Promise<void> {
    const s = this.admin;
    this.admin = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  lines(): string[] {
    const out: string[] = [];
    for (const d of this.datagrams) for (const l of d.toString('utf8').split('\n')) if (l !== '') out.push(l);
    return out;
  }

  async close(): Promise<void> {
    await this.closeAdmin();
    await new Promise<void>((r) => this.udp.close(() => r()));
  }
}

export interface RunningProxy {
  proc: ChildProcess;
  port: number;
  mgmtPort: number;
  stderr: string[];
  stdout: string[];
  send(payload: string | Buffer): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

function collect(stream: NodeJS.ReadableStream, into: string[]): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      into.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

function running(proc: ChildProcess, port: number, mgmtPort: number, stdout: string[], stderr: string[]): RunningProxy {
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  let done = false;
  void exited.then(() => (done = true));
  const sock = dgram.createSocket('udp4');
  sock.unref();
  return {
    proc,
    port,
    mgmtPort,
    stdout,
    stderr,
    exited,
    send: (payload) =>
      new Promise<void>((res, rej) =>
        sock.send(typeof payload === 'string' ? Buffer.from(payload) : payload, port, '127.0.0.1', (e) => (e ? rej(e) : res())),
      ),
    stop: async (signal = 'SIGTERM') => {
      if (!done) proc.kill(signal);
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') proc.kill('SIGKILL');
      sock.close();
      return code === 'timeout' ? null : code;
    },
  };
}

/** The nodes as a proxy config's `nodes` entries. */
export function nodesConfig(nodes: readonly FakeNode[] | ReadonlyArray<{ port: number; adminport: number }>): string {
  return nodes.map((n) => `{host: '127.0.0.1', port: ${n.port}, adminport: ${n.adminport}}`).join(',\n');
}

/** `tallyd proxy` on a config (JS object literal text); waits for 'proxy is up'. */
export async function startTallydProxy(configText: string, args: string[] = []): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-proxy-'));
  const file = join(dir, 'proxyConfig.js');
  writeFileSync(file, configText);
  const proc = spawn(process.execPath, [MAIN, 'proxy', ...args, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  collect(proc.stdout!, stdout);
  collect(proc.stderr!, stderr);
  let exit: number | null | undefined;
  proc.on('exit', (c) => (exit = c));
  const up = await waitFor(
    () => {
      if (exit !== undefined) throw new Error(`tallyd proxy exited with ${exit}: ${stderr.join('\n')}`);
      for (const l of stderr) {
        if (!l.startsWith('{')) continue;
        const j = JSON.parse(l) as { msg?: string; listeners?: string[]; mgmt?: string };
        if (j.msg === 'proxy is up') return j;
      }
      return undefined;
    },
    15_000,
    'tallyd proxy to start',
  );
  const d = up.listeners![0]!;
  return running(proc, Number(d.slice(d.lastIndexOf(':') + 1)), Number(up.mgmt!.slice(up.mgmt!.lastIndexOf(':') + 1)), stdout, stderr);
}

/** The original statsd 0.9.0 proxy.js (node_modules/statsd) on fixed free ports; waits for its admin port. */
export async function startOriginalProxy(nodes: readonly FakeNode[], extra = ''): Promise<RunningProxy> {
  const require = createRequire(import.meta.url);
  const proxyJs = join(dirname(require.resolve('statsd/package.json')), 'proxy.js');
  const port = await freePort();
  const mgmtPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'statsd-proxy-'));
  const file = join(dir, 'proxyConfig.js');
  writeFileSync(
    file,
    `{
nodes: [
${nodesConfig(nodes)}
],
address: '127.0.0.1',
port: ${port},
mgmt_port: ${mgmtPort},
mgmt_address: '127.0.0.1',
forkCount: 0,
checkInterval: 1000,
cacheSize: 10000
${extra}
}`,
  );
  const proc = spawn(process.execPath, [proxyJs, file], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dirname(proxyJs) });
  const stdout: string[] = [];
  const stderr: string[] = [];
  collect(proc.stdout!, stdout);
  collect(proc.stderr!, stderr);
  await waitFor(() => stdout.some((l) => l.includes('server is up')) || undefined, 15_000, 'proxy.js to start');
  // its admin port listens once the server is up
  await waitForAsync(
    () =>
      new Promise<boolean>((res) => {
        const s = net.createConnection(mgmtPort, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          res(true);
        });
        s.on('error', () => res(false));
      }),
    5000,
    "proxy.js's admin port",
    50,
  ).catch(() => undefined);
  return running(proc, port, mgmtPort, stdout, stderr);
}

/** Send `lines` to a proxy in packets of `perPacket` lines, pacing so that nothing is dropped on a loaded machine. */
export async function sendLines(p: RunningProxy, lines: readonly string[], perPacket: number): Promise<void> {
  for (let i = 0; i < lines.length; i += perPacket) {
    await p.send(lines.slice(i, i + perPacket).join('\n'));
    if ((i / perPacket) % (perPacket === 1 ? 5 : 20) === 4) await pace(2);
  }
}

/**
 * One admin command to a proxy or statsd node; the answer is what arrives before a quiet period
 * (the original proxy's answers have no END marker). `quietMs` may depend on what has arrived.
 */
export async function quietAdmin(port: number, cmd: string, quietMs: (data: string) => number = () => 100): Promise<string> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1');
    let data = '';
    let quiet: NodeJS.Timeout | undefined;
    const hard = setTimeout(() => {
      s.destroy();
      reject(new Error(`admin '${cmd}' timed out`));
    }, 5000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d: string) => {
      data += d;
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        clearTimeout(hard);
        s.destroy();
        resolve(data);
      }, quietMs(data));
    });
    s.on('error', reject);
  });
}
