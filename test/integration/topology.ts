/**
 * A Graphite cluster topology of real processes on 127.0.0.1: `tallyd proxy` × P → tallyd
 * aggregators × A (flushAlignment 'clock') → carbon-c-relay (carbon_ch consistent hashing) →
 * carbon-cache × C, whisper files read back directly.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Carbon, freePort } from './carbon.js';
import { type RunningDaemon, sleep, startDaemon, waitFor } from './harness.js';
import { type RunningProxy, startTallydProxy } from './proxy-harness.js';

export function haveRelay(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v carbon-c-relay'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The non-empty points of a whisper file's first archive, ts → value (whisper's on-disk format). */
export function readWhisper(file: string): Map<number, number> {
  const out = new Map<number, number>();
  if (!existsSync(file)) return out;
  const b = readFileSync(file);
  if (b.length < 28) return out; // being created
  const offset = b.readUInt32BE(16);
  const points = b.readUInt32BE(24);
  for (let i = 0; i < points; i++) {
    const at = offset + i * 12;
    if (at + 12 > b.length) break;
    const ts = b.readUInt32BE(at);
    if (ts !== 0) out.set(ts, b.readDoubleBE(at + 4));
  }
  return out;
}

export class Relay {
  port = 0;
  /** Its log (stdout and stderr). */
  output = '';
  private proc: ChildProcess | null = null;

  async start(carbons: readonly Carbon[]): Promise<void> {
    this.port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-relay-'));
    const conf = join(dir, 'relay.conf');
    writeFileSync(
      conf,
      `cluster carbons
  carbon_ch
${carbons.map((c) => `    127.0.0.1:${c.linePort}`).join('\n')}
  ;
match *
  send to carbons
  stop
  ;
`,
    );
    const p = spawn('carbon-c-relay', ['-f', conf, '-p', String(this.port), '-w', '1', '-s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc = p;
    // not a connect probe: carbon-c-relay 3.7 crashes (SIGSEGV) on a connection accepted before its workers start
    await waitFor(
      () => {
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`carbon-c-relay did not start: ${this.output}`);
        return this.output.includes('startup sequence complete');
      },
      10_000,
      'carbon-c-relay to start',
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${this.output}`);
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p) return;
    p.kill('SIGTERM');
    await Promise.race([new Promise((r) => p.on('exit', r)), sleep(3000)]);
    p.kill('SIGKILL');
  }
}

export interface AggregatorSlot {
  port: number;
  mgmtPort: number;
  daemon: RunningDaemon | null;
}

export const FLUSH_MS = 1000;
export const CHECK_MS = 1000;

export class Topology {
  readonly carbons: Carbon[] = [];
  readonly relay = new Relay();
  readonly aggregators: AggregatorSlot[] = [];
  readonly proxies: RunningProxy[] = [];
  private proxyConfig = '';

  async start(opts: { carbons: number; aggregators: number; proxies: number }): Promise<void> {
    for (let i = 0; i < opts.carbons; i++) this.carbons.push(new Carbon());
    await Promise.all(this.carbons.map((c) => c.start()));
    await this.relay.start(this.carbons);
    for (let i = 0; i < opts.aggregators; i++) this.aggregators.push({ port: await freePort(), mgmtPort: await freePort(), daemon: null });
    await Promise.all(this.aggregators.map((_, i) => this.startAggregator(i)));
    this.proxyConfig = `{
nodes: [
${this.aggregators.map((a) => `  {host: '127.0.0.1', port: ${a.port}, adminport: ${a.mgmtPort}}`).join(',\n')}
],
host: '127.0.0.1',
port: 0,
mgmt_port: 0,
checkInterval: ${CHECK_MS},
flushInterval: ${FLUSH_MS},
flushAlignment: 'clock'
}`;
    for (let i = 0; i < opts.proxies; i++) this.proxies.push(await startTallydProxy(this.proxyConfig));
  }

  /** Node id (`127.0.0.1:port`) of aggregator i, as the proxies name it. */
  nodeId(i: number): string {
    return `127.0.0.1:${this.aggregators[i]!.port}`;
  }

  async startAggregator(i: number): Promise<void> {
    const a = this.aggregators[i]!;
    a.daemon = await startDaemon(`{
port: ${a.port},
address: '127.0.0.1',
mgmt_port: ${a.mgmtPort},
flushInterval: ${FLUSH_MS},
flushAlignment: 'clock',
deleteIdleStats: true,
graphiteHost: '127.0.0.1',
graphitePort: ${this.relay.port},
backends: ['./backends/graphite'],
prefixStats: 'statsd_agg${i}'
}`);
  }

  /** Restart proxy i on the same config (new ports). */
  async restartProxy(i: number): Promise<RunningProxy> {
    await this.proxies[i]!.stop();
    const p = await startTallydProxy(this.proxyConfig);
    this.proxies[i] = p;
    return p;
  }

  /** Sum of every whisper point of a metric path across the carbon stores. */
  total(path: string): number {
    let s = 0;
    for (const c of this.carbons) for (const v of readWhisper(c.wsp(path)).values()) s += v;
    return s;
  }

  /** How many stores hold the path. */
  stores(path: string): number {
    return this.carbons.filter((c) => existsSync(c.wsp(path))).length;
  }

  async stop(): Promise<void> {
    for (const p of this.proxies) await p.stop().catch(() => undefined);
    for (const a of this.aggregators) await a.daemon?.stop().catch(() => undefined);
    await this.relay.stop();
    for (const c of this.carbons) await c.stop();
  }
}
