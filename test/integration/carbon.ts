/**
 * A real Graphite carbon-cache (Debian's graphite-carbon) for integration tests, all state in a temp
 * folder, on free 127.0.0.1 ports. The recipe is ../shared/components/carbon.sh's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep, waitForAsync } from './harness.js';

export { freePort } from './harness.js';

export function haveCarbon(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v carbon-cache && command -v whisper-fetch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export class Carbon {
  base = mkdtempSync(join(tmpdir(), 'tallyd-carbon-'));
  linePort = 0;
  /** The pickle receiver's port (PICKLE_RECEIVER_PORT). */
  picklePort = 0;
  private proc: ChildProcess | null = null;

  /** `picklePort`: listen there for pickle (a port tallyd was already pointed at), else a free one. */
  async start(opts: { picklePort?: number } = {}): Promise<void> {
    this.linePort = await freePort();
    const picklePort = opts.picklePort ?? (await freePort());
    this.picklePort = picklePort;
    const queryPort = await freePort();
    const b = this.base;
    mkdirSync(join(b, 'conf'), { recursive: true });
    mkdirSync(join(b, 'storage'), { recursive: true });
    writeFileSync(
      join(b, 'conf', 'carbon.conf'),
      `[cache]
STORAGE_DIR    = ${b}/storage/
LOCAL_DATA_DIR = ${b}/storage/whisper/
CONF_DIR       = ${b}/conf/
LOG_DIR        = ${b}/storage/log/
PID_DIR        = ${b}/storage/
DATABASE = whisper
ENABLE_LOGROTATION = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
MIN_TIMESTAMP_RESOLUTION = 1
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${this.linePort}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${picklePort}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${queryPort}
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
ENABLE_TAGS = False
`,
    );
    writeFileSync(join(b, 'conf', 'storage-schemas.conf'), `[default]\npattern = .*\nretentions = 1s:1h,10s:1d\n`);
    writeFileSync(join(b, 'conf', 'storage-aggregation.conf'), `[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n`);
    this.proc = spawn(
      'carbon-cache',
      [`--config=${b}/conf/carbon.conf`, '--nodaemon', '--logfile=-', `--pidfile=${b}/storage/carbon.pid`, 'start'],
      { env: { ...process.env, GRAPHITE_ROOT: b }, stdio: 'ignore' },
    );
    const accepts = (port: number): Promise<boolean> =>
      new Promise<boolean>((res) => {
        const s = net.createConnection(port, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          res(true);
        });
        s.on('error', () => res(false));
      });
    await waitForAsync(
      async () => (await accepts(this.linePort)) && (await accepts(picklePort)),
      20_000,
      'carbon-cache to start (its ports to accept)',
      100,
    );
  }

  /** Path of a metric's whisper file. */
  wsp(path: string): string {
    return join(this.base, 'storage', 'whisper', ...path.split('.')) + '.wsp';
  }

  /** The non-null points of a metric as [ts, value], read with whisper-fetch. */
  fetch(path: string, from: number, until: number): Array<[number, number]> {
    const file = this.wsp(path);
    if (!existsSync(file)) return [];
    const out = execFileSync('whisper-fetch', ['--json', `--from=${from}`, `--until=${until}`, file], { encoding: 'utf8' });
    const j = JSON.parse(out) as { start: number; step: number; values: Array<number | null> };
    const points: Array<[number, number]> = [];
    j.values.forEach((v, i) => {
      if (v !== null) points.push([j.start + i * j.step, v]);
    });
    return points;
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    p.kill('SIGTERM');
    await Promise.race([new Promise((r) => p.on('exit', r)), sleep(5000)]);
    p.kill('SIGKILL');
  }
}
