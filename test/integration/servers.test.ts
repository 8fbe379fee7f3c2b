/**
 * Server modules (the original's server interface) and the top-level `server` key, black-box: the
 * built daemon loads a small HTTP server module (test/fixtures/servers/http-server.cjs); what is POSTed
 * to it reaches Graphite through the same parse path as UDP.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGraphite, logText, MAIN, ROOT, type RunningDaemon, startDaemon, waitFor } from './harness.js';

const HTTP_SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'http-server.cjs');

let daemon: RunningDaemon | null = null;
let graphite: FakeGraphite | null = null;
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  await graphite?.close();
  graphite = null;
});

function post(port: number, body: string): Promise<number> {
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
    });
    req.on('error', rej);
    req.end(body);
  });
}

/** A temp dir holding the HTTP server module, as a config's neighbour. */
function dirWithModule(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-servers-'));
  copyFileSync(HTTP_SERVER, join(dir, 'http-server.cjs'));
  return dir;
}

async function startGraphite(): Promise<FakeGraphite> {
  graphite = new FakeGraphite();
  await graphite.listen();
  return graphite;
}

describe('server modules', () => {
  it("servers: [{ server: './http-server.cjs' }] feeds what is POSTed through the parse path", async () => {
    const g = await startGraphite();
    const dir = dirWithModule();
    const portFile = join(dir, 'port');
    daemon = await startDaemon(`{
      graphiteHost: '127.0.0.1', graphitePort: ${g.port}, mgmt_port: 0, flushInterval: 500,
      servers: [
        { server: 'udp', address: '127.0.0.1', port: 0 },
        { server: ${JSON.stringify(join(dir, 'http-server.cjs'))}, address: '127.0.0.1', port: 0, portFile: ${JSON.stringify(portFile)} },
      ],
    }`);
    const port = Number(await waitFor(() => existsSync(portFile) && readFileSync(portFile, 'utf8'), 10_000, 'the module to listen'));
    expect(await post(port, 'web.hits:3|c\nweb.lat:20|ms\nnot a line')).toBe(204);
    await daemon.send('udp.hits:1|c');
    await waitFor(() => g.has('stats_counts.web.hits') && g.has('stats_counts.udp.hits'), 15_000, 'both inputs in Graphite');
    expect(g.values('stats_counts.web.hits')[0]).toBe(3);
    expect(g.values('stats.timers.web.lat.upper')[0]).toBe(20);
    // the bad line of the POST is counted like any other
    await waitFor(() => g.values('stats_counts.statsd.bad_lines_seen').some((v) => v === 1), 15_000, 'the bad line counted');
  }, 40_000);

  it("the top-level `server: './servers/tcp'` (the original's docs/server.md) listens on TCP", async () => {
    const g = await startGraphite();
    daemon = await startDaemon(`{
      graphiteHost: '127.0.0.1', graphitePort: ${g.port}, mgmt_port: 0, flushInterval: 500,
      server: './servers/tcp', address: '127.0.0.1', port: 0,
    }`);
    expect(daemon.tcpPorts.length).toBe(1);
    expect(daemon.udpPort).toBe(0);
    expect(daemon.stderr.join('\n')).not.toContain("unknown config key 'server'");
    const s = net.createConnection(daemon.tcpPorts[0]!, '127.0.0.1');
    await new Promise<void>((r) => s.on('connect', () => r()));
    s.end('tcp.hits:4|c\n');
    await waitFor(() => g.has('stats_counts.tcp.hits'), 15_000, 'the TCP line in Graphite');
    expect(g.values('stats_counts.tcp.hits')[0]).toBe(4);
  }, 40_000);

  it('the top-level `server` as a module gets the whole config, and --check-config says where it was found', async () => {
    const g = await startGraphite();
    const dir = dirWithModule();
    const portFile = join(dir, 'port');
    const text = `{
      graphiteHost: '127.0.0.1', graphitePort: ${g.port}, mgmt_port: 0, flushInterval: 500,
      server: './http-server.cjs', address: '127.0.0.1', port: 0, portFile: ${JSON.stringify(portFile)},
    }`;
    writeFileSync(join(dir, 'c.js'), text);
    const check = spawnSync(process.execPath, [MAIN, join(dir, 'c.js'), '--check-config'], { encoding: 'utf8', timeout: 20_000 });
    expect(check.status).toBe(0);
    expect(check.stdout).toContain(`server module "./http-server.cjs": ${join(dir, 'http-server.cjs')} (found at the path given)`);

    // startDaemon writes its own copy of the config in a new dir: give it the module's absolute path
    daemon = await startDaemon(text.replace("'./http-server.cjs'", JSON.stringify(join(dir, 'http-server.cjs'))));
    const port = Number(await waitFor(() => existsSync(portFile) && readFileSync(portFile, 'utf8'), 10_000, 'the module to listen'));
    expect(await post(port, 'top.hits:2|c')).toBe(204);
    await waitFor(() => g.has('stats_counts.top.hits'), 15_000, 'the POSTed line in Graphite');
  }, 40_000);

  it('a module that cannot be found, or whose start returns false, stops start-up with a clear message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-servers-'));
    writeFileSync(join(dir, 'refuses.cjs'), 'exports.start = function () { return false; };\n');
    writeFileSync(join(dir, 'a.js'), `{ mgmt_port: 0, servers: [{ server: './refuses.cjs' }] }`);
    const a = spawnSync(process.execPath, [MAIN, join(dir, 'a.js')], { encoding: 'utf8', timeout: 20_000 });
    expect(a.status).toBe(1);
    expect(logText(a.stderr)).toContain('server module "./refuses.cjs"');
    expect(logText(a.stderr)).toContain('start returned false');

    writeFileSync(join(dir, 'b.js'), `{ mgmt_port: 0, servers: [{ server: './missing.js' }] }`);
    const b = spawnSync(process.execPath, [MAIN, join(dir, 'b.js')], { encoding: 'utf8', timeout: 20_000 });
    expect(b.status).toBe(1);
    expect(logText(b.stderr)).toContain(
      `config key 'servers[0].server': server module "./missing.js": no module at ${join(dir, 'missing.js')}`,
    );
  }, 40_000);
});
