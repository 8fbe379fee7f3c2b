/**
 * npm backends through the original's backend interface, black-box: real npm backends (dev
 * dependencies) loaded by the built daemon, delivering to real listeners; --check-config saying where
 * each was found; a plug-in that throws everywhere costing nothing to Graphite or to ingest.
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGraphite, logText, MAIN, ROOT, type RunningDaemon, startDaemon, statusUrl, waitFor } from './harness.js';

const RECORDER = join(ROOT, 'test', 'fixtures', 'plugins', 'recorder.cjs');

let daemon: RunningDaemon | null = null;
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
});

describe('npm backends', () => {
  it('statsd-udpkv-backend sends its key=value datagrams to a UDP listener', async () => {
    const got: string[] = [];
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      daemon = await startDaemon(`{
        port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
        backends: ['statsd-udpkv-backend'],
        udpkv: { host: '127.0.0.1', port: ${sock.address().port}, vars: { env: 'test' } },
      }`);
      await daemon.send('req:3|c\nlat:5|ms\nlat:15|ms\nmem:42|g');
      const counter = await waitFor(() => got.find((m) => m.includes('stat=req ')), 15_000, 'the counter datagram');
      expect(counter).toMatch(/ stat=req count=3 env=test req=3$/);
      const timer = await waitFor(() => got.find((m) => m.includes('stat=lat ') && m.includes('samples=2')), 15_000, 'the timer datagram');
      expect(timer).toMatch(/ stat=lat min=5 max=15 avg=10 samples=2 env=test lat=10$/);
      expect(got.some((m) => / stat=mem gauge=42 env=test mem=42$/.test(m))).toBe(true);
      // its status lines reach the admin `stats` command under its own name
      expect(await daemon.admin('stats')).toMatch(/^udpkv\.last_flush: \d+$/m);
    } finally {
      sock.close();
    }
  }, 40_000);

  it('statsd-influxdb-backend posts its points to an HTTP listener', async () => {
    const posts: Array<{ url: string; body: { database: string; points: Array<{ measurement: string; fields: { value: unknown } }> } }> =
      [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        if (req.method === 'POST') posts.push({ url: req.url ?? '', body: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      daemon = await startDaemon(`{
        port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
        backends: ['statsd-influxdb-backend'],
        influxdb: { host: '127.0.0.1', port: ${port}, version: 0.9, database: 'metrics', username: 'u', password: 'p' },
      }`);
      await daemon.send('req:3|c\nlat:5|ms\nmem:42|g\nusers:ann|s\nusers:bob|s');
      const post = await waitFor(
        () => posts.find((p) => p.body.points.some((x) => x.measurement === 'req.counter')),
        15_000,
        'a POST with the counter',
      );
      expect(post.url).toBe('/write?u=u&p=p');
      expect(post.body.database).toBe('metrics');
      const value = (m: string): unknown[] => post.body.points.filter((x) => x.measurement === m).map((x) => x.fields.value);
      expect(value('req.counter')).toEqual([3]);
      expect(value('mem.gauge')).toEqual([42]);
      expect(value('lat.timer.upper')).toEqual([5]);
      expect(value('lat.timer.count')).toEqual([1]);
      // sets: the members themselves (the original's Set objects), and their number
      expect(value('users').sort()).toEqual(['ann', 'bob']);
      expect(value('users_count')).toEqual([2]);
      // the daemon's own counters are left out by the backend (includeStatsdMetrics: false)
      expect(post.body.points.some((x) => x.measurement.startsWith('statsd.'))).toBe(false);
    } finally {
      server.close();
    }
  }, 40_000);

  it('a falsy init refuses to start, as in the original (influxdb without a database)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-plugin-'));
    const cfg = join(dir, 'c.js');
    writeFileSync(cfg, `{ port: 0, mgmt_port: 0, backends: ['statsd-influxdb-backend'], influxdb: { host: '127.0.0.1' } }`);
    const r = spawnSync(process.execPath, [MAIN, cfg], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(logText(r.stderr)).toContain('cannot start: backend "statsd-influxdb-backend"');
    expect(logText(r.stderr)).toContain('init returned false');
  }, 30_000);
});

describe('--check-config says where each npm backend was found', () => {
  it('names the file and the place it came from, or why it was not found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-plugin-'));
    copyFileSync(RECORDER, join(dir, 'recorder.cjs'));
    const cfg = join(dir, 'c.js');
    writeFileSync(cfg, `{ port: 0, mgmt_port: 0, backends: ['statsd-udpkv-backend', './recorder.cjs'], udpkv: { host: 'h', port: 1 } }`);
    const ok = spawnSync(process.execPath, [MAIN, cfg, '--check-config'], { encoding: 'utf8', timeout: 20_000 });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(
      `backend "statsd-udpkv-backend": ${join(ROOT, 'node_modules', 'statsd-udpkv-backend', 'lib', 'init.js')} (found from tallyd's installation)`,
    );
    expect(ok.stdout).toContain(`backend "./recorder.cjs": ${join(dir, 'recorder.cjs')} (found at the path given)`);

    // NODE_PATH comes after the config file's directory and tallyd's installation
    writeFileSync(join(dir, 'n.js'), `{ port: 0, mgmt_port: 0, backends: ['recorder.cjs'] }`);
    const viaNodePath = spawnSync(process.execPath, [MAIN, join(dir, 'n.js'), '--check-config'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, NODE_PATH: dir },
    });
    expect(viaNodePath.status).toBe(0);
    expect(viaNodePath.stdout).toContain(`backend "recorder.cjs": ${join(dir, 'recorder.cjs')} (found from NODE_PATH)`);

    // a bare name in node_modules next to the config comes first, before tallyd's own installation
    const local = join(dir, 'node_modules', 'statsd-udpkv-backend');
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'package.json'), '{ "name": "statsd-udpkv-backend", "main": "main.js" }');
    writeFileSync(join(local, 'main.js'), 'exports.init = function () { return true; };\n');
    const near = spawnSync(process.execPath, [MAIN, cfg, '--check-config'], { encoding: 'utf8', timeout: 20_000 });
    expect(near.stdout).toContain(`backend "statsd-udpkv-backend": ${join(local, 'main.js')} (found from config file directory)`);

    writeFileSync(join(dir, 'bad.js'), `{ port: 0, mgmt_port: 0, backends: ['statsd-no-such-backend'] }`);
    const bad = spawnSync(process.execPath, [MAIN, join(dir, 'bad.js'), '--check-config'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, NODE_PATH: '' },
    });
    expect(bad.status).toBe(1);
    expect(logText(bad.stderr)).toContain(`"statsd-no-such-backend" is not a built-in backend`);
    expect(logText(bad.stderr)).toContain(`node_modules from ${dir} upwards`);
    expect(logText(bad.stderr)).toContain('NODE_PATH: not set');
  }, 60_000);
});

describe('a plug-in that fails costs nothing to the rest', () => {
  it('throwing from flush, status, packet and a timer: Graphite and ingest go on, each kind logged once and counted', async () => {
    const graphite = new FakeGraphite();
    await graphite.listen();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'tallyd-plugin-'));
      daemon = await startDaemon(`{
        port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 400,
        graphiteHost: '127.0.0.1', graphitePort: ${graphite.port},
        backends: ['./backends/graphite', ${JSON.stringify(RECORDER)}],
        recorder: { file: ${JSON.stringify(join(dir, 'r.jsonl'))}, fault: 'throw' },
        statusPage: { port: 0 },
      }`);
      for (let i = 0; i < 3; i++) {
        await daemon.send('ok:1|c');
        await waitFor(() => graphite.values('stats_counts.ok').filter((v) => v === 1).length > i, 15_000, `flush ${i + 1} in Graphite`);
      }
      const stats = await daemon.admin('stats');
      expect(stats).toMatch(/plugin_failures_flush: [3-9]\d*$/m);
      expect(stats).toMatch(/plugin_failures_packet: [3-9]\d*$/m);
      expect(stats).toMatch(/plugin_failures_async: [1-9]\d*$/m);
      expect(stats).toMatch(/plugin_failures_status: 1$/m);
      expect(stats.endsWith('END\n\n')).toBe(true);
      // once per kind in the log
      const failed = (kind: string): number => daemon!.stderr.filter((l) => l.includes(`${kind} failed (logged once`)).length;
      expect(failed('flush')).toBe(1);
      expect(failed('packet')).toBe(1);
      expect(failed('async')).toBe(1);
      expect(daemon.proc.exitCode).toBeNull();
      // the status page shows the plug-in's last failure beside its lines
      type Be = { name: string; state: { connected: boolean | null; lastError: string | null; lastErrorAt: number | null } | null };
      const page = (await (await fetch(statusUrl(daemon) + 'api/status')).json()) as { backends: Be[] };
      const rec = page.backends.find((b) => b.name === RECORDER)!;
      expect(rec.state!.connected).toBeNull();
      expect(rec.state!.lastError).toMatch(/^(flush|packet|async|status): /);
      expect(rec.state!.lastErrorAt).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await graphite.close();
    }
  }, 60_000);
});
