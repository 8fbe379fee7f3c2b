/**
 * Config edge cases (issue 9, points 9, 15 and 16) and a reload that throws while it is applied
 * (issue 12, "Why" point 4), black-box: the built daemon on real files, real UDP, a FakeGraphite.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushWith, logText, MAIN, originalStyleConfig, type RunningDaemon, sleep, startDaemon, useCleanups, waitFor } from './harness.js';
import { httpGet, prometheusPort } from './prometheus-helpers.js';

const { cleanups, graphiteOn, daemonOn } = useCleanups();

/** Runs tallyd on `configText` (written to a temp file) and waits for it to exit (null: still running after `timeoutMs`, then killed). */
async function runToExit(
  configText: string,
  args: string[] = [],
  timeoutMs = 15_000,
): Promise<{ code: number | null; stderr: string; stdout: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-cfg-'));
  const file = join(dir, 'config.js');
  writeFileSync(file, configText);
  const t0 = Date.now();
  const proc = spawn(process.execPath, [MAIN, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const code = await Promise.race([
    new Promise<number | null>((res) => proc.on('exit', (c) => res(c))),
    sleep(timeoutMs).then(() => 'timeout' as const),
  ]);
  if (code === 'timeout') {
    proc.kill('SIGKILL');
    return { code: null, stderr: logText(stderr), stdout, ms: Date.now() - t0 };
  }
  return { code, stderr: logText(stderr), stdout, ms: Date.now() - t0 };
}

/** Rewrites the daemon's config file and sends SIGHUP; resolves with the reload's outcome log line. */
async function reloadWith(d: RunningDaemon, configText: string): Promise<string> {
  const before = d.stderr.length;
  writeFileSync(d.configFile, configText);
  d.proc.kill('SIGHUP');
  return waitFor(
    () => {
      if (d.proc.exitCode !== null)
        throw new Error(`tallyd exited (${d.proc.exitCode}) during the reload: ${d.stderr.slice(before).join('\n').slice(-2000)}`);
      return d.stderr.slice(before).find((l) => /config reload(ed| refused| failed|: nothing changed)/.test(l));
    },
    15_000,
    'the reload outcome',
  );
}

/** The admin answer to `cmd` once it matches `done` (the `config` answer has no END line). */
function adminUntil(port: number, cmd: string, done: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`admin '${cmd}': no ${String(done)} in ${JSON.stringify(data)}`));
    }, 10_000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d: string) => {
      data += d;
      if (done.test(data)) {
        clearTimeout(timer);
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const thresholds = (n: number): string => `[${Array.from({ length: n }, (_, i) => i + 1).join(', ')}]`;

describe('percentThreshold has a maximum (issue 9, point 9)', () => {
  it('more than 100 thresholds stop start-up and --check-config, naming the key; 100 all reach Graphite; a reload with 256 is refused', async () => {
    for (const args of [[], ['--check-config']]) {
      const r = await runToExit(originalStyleConfig(2003, `, percentThreshold: ${thresholds(101)}`), args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("config key 'percentThreshold': expected at most 100 thresholds, got a list of 101");
    }

    const g = await graphiteOn();
    const d = await daemonOn(originalStyleConfig(g.port, `, percentThreshold: ${thresholds(100)}, automaticConfigReload: false`));
    await d.send(Array.from({ length: 200 }, (_, i) => `pt.t:${i + 1}|ms`).join('\n'));
    const f = await flushWith(g, 'stats.timers.pt.t.count');
    for (let p = 1; p <= 100; p++) expect(f.get(`stats.timers.pt.t.upper_${p}`), `upper_${p}`).toBe(2 * p);

    const outcome = await reloadWith(
      d,
      originalStyleConfig(g.port, `, percentThreshold: ${thresholds(256)}, automaticConfigReload: false`),
    );
    expect(outcome).toContain('config reload refused');
    expect(outcome).toContain("config key 'percentThreshold': expected at most 100 thresholds, got a list of 256");
    const after = g.lines.length;
    await d.send('pt.t2:5|ms');
    const f2 = await waitFor(
      () => {
        for (const [, fl] of g.byTimestamp()) if (fl.has('stats.timers.pt.t2.count') && g.lines.length > after) return fl;
        return undefined;
      },
      10_000,
      'a flush with pt.t2',
    );
    expect(f2.get('stats.timers.pt.t2.upper_100')).toBe(5);
    expect(d.proc.exitCode).toBeNull();
  });
});

describe('__proto__, constructor and prototype keys are refused (issue 9, point 15)', () => {
  it('at start-up and with --check-config, at any depth, in JSON and JS-literal files, naming the key', async () => {
    const cases: Array<[string, string]> = [
      ['{ "port": 0, "mgmt_port": 0, "__proto__": { "mgmt_address": "0.0.0.0" } }', "config key '__proto__'"],
      ["{ port: 0, mgmt_port: 0, graphite: { constructor: { globalPrefix: 'x' } } }", "config key 'graphite.constructor'"],
      ["{ port: 0, mgmt_port: 0, servers: [ { server: 'udp', port: 0, prototype: 1 } ] }", "config key 'servers[0].prototype'"],
    ];
    for (const [i, [text, named]] of cases.entries()) {
      for (const args of i === 0 ? [[], ['--check-config']] : [[]]) {
        const r = await runToExit(text, args);
        expect(r.code, `${text} ${args.join(' ')}`).toBe(1);
        expect(r.stderr).toContain(named);
        expect(r.stderr).toContain('is not allowed as a key');
        expect(r.stderr).not.toContain('tallyd is up');
      }
    }
  });

  it('a reload with a __proto__ key is refused: admin stays on 127.0.0.1', async () => {
    const g = await graphiteOn();
    const d = await daemonOn(originalStyleConfig(g.port, ', automaticConfigReload: false'));
    const outcome = await reloadWith(
      d,
      `{ "graphiteHost": "127.0.0.1", "graphitePort": ${g.port}, "port": 0, "address": "127.0.0.1", "mgmt_port": 0,
      "flushInterval": 1000, "automaticConfigReload": false, "__proto__": { "mgmt_address": "0.0.0.0", "flushInterval": 60000 } }`,
    );
    expect(outcome).toContain('config reload refused');
    expect(outcome).toContain("config key '__proto__'");
    expect(d.stderr.some((l) => l.includes('0.0.0.0'))).toBe(false);
    await d.send('proto.after:1|c');
    await flushWith(g, 'stats_counts.proto.after');
  });

  it('a Prometheus mapping file with a __proto__ key is refused, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-map-'));
    const map = join(dir, 'mapping.yml');
    writeFileSync(map, 'mappings:\n  - match: "a.*"\n    name: "a_total"\n    labels:\n      __proto__:\n        job: "x"\n');
    const r = await runToExit(`{ port: 0, mgmt_port: 0, backends: ['prometheus'], prometheus: { port: 0, mappingFile: '${map}' } }`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("key 'mappings[0].labels.__proto__'");
  });
});

describe('--allow-js-config runs the file in a child process (issue 9, point 16)', () => {
  it("the file cannot reach the daemon's process nor start programs; it runs in another process", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-js-'));
    const marker = join(dir, 'pwned');
    const g = await graphiteOn();
    const escapeCode = `(function () {
      try {
        const p = require.constructor('return process')();
        const cp = typeof p.getBuiltinModule === 'function' ? p.getBuiltinModule('child_process') : p.mainModule.require('child_process');
        cp.execSync('touch ${marker}');
      } catch (e) {}
      return String(require.constructor('return process')().pid);
    })()`;
    const text = `{
      graphiteHost: '127.0.0.1', graphitePort: ${g.port}, port: 0, address: '127.0.0.1', mgmt_port: 0,
      flushInterval: 1000, automaticConfigReload: false, title: ${escapeCode}
    }`;
    const d = await startDaemon(text, ['--allow-js-config']);
    cleanups.push(() => d.stop());
    expect(existsSync(marker)).toBe(false);
    // the file ran, in a process that is not the daemon
    const cfg = await adminUntil(d.mgmtPort, 'config', /title: \d+\n/);
    const title = /title: (\d+)/.exec(cfg);
    expect(title).not.toBeNull();
    expect(Number(title![1])).not.toBe(d.proc.pid);

    // a reload of a file that spins is stopped too, and ingest and flushes go on while it runs
    const before = d.stderr.length;
    writeFileSync(
      d.configFile,
      `({ graphiteHost: '127.0.0.1', graphitePort: ${g.port}, port: 0, address: '127.0.0.1', mgmt_port: 0,
      flushInterval: 1000, automaticConfigReload: false, get title() { for (;;) {} } })`,
    );
    d.proc.kill('SIGHUP');
    await waitFor(() => d.stderr.slice(before).some((l) => l.includes('SIGHUP: reloading')), 10_000, 'the reload to start');
    await d.send('during.reload:1|c');
    await flushWith(g, 'stats_counts.during.reload');
    expect(d.stderr.slice(before).some((l) => l.includes('config reload refused'))).toBe(false); // the flush came first
    const outcome = await waitFor(() => d.stderr.slice(before).find((l) => l.includes('config reload refused')), 15_000, 'the refusal');
    expect(outcome).toContain('did not finish within 5 s');
    expect(d.proc.exitCode).toBeNull();
  });

  it('a promise or a getter that spins forever cannot hang start-up: it is stopped with a clear message', async () => {
    const spinPromise = `(Promise.resolve().then(function () { for (;;) {} }), { port: 0, address: '127.0.0.1', mgmt_port: 0 })`;
    let r = await runToExit(spinPromise, ['--allow-js-config'], 20_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('evaluating the config file failed');
    const spinGetter = `({ port: 0, address: '127.0.0.1', mgmt_port: 0, get flushInterval() { for (;;) {} } })`;
    r = await runToExit(spinGetter, ['--allow-js-config'], 20_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('did not finish within 5 s');
    expect(r.ms).toBeLessThan(15_000);
  });
});

describe('a reload that throws while it is applied (issue 12, point 4)', () => {
  it('a backend constructor that throws (mapping file changed after validation) refuses the reload; the daemon keeps running on the old config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-fifo-'));
    const fifo = join(dir, 'mapping.yml');
    const mk = spawn('mkfifo', [fifo]);
    await new Promise((res) => mk.on('exit', res));
    const g = await graphiteOn();
    const base = `, backends: [ './backends/graphite', 'prometheus' ], automaticConfigReload: false`;
    const d = await daemonOn(originalStyleConfig(g.port, `${base}, prometheus: { port: 0, address: '127.0.0.1' }`));
    const prom = await prometheusPort(d);
    // the reload reads the mapping file (a FIFO) twice: validation gets a valid file, the backend's constructor an
    // invalid one. Each write opens the FIFO, so each pairs with one read; the second waits 1 s so that the first
    // reader has closed it (not a wait for the daemon: each read blocks until its write comes)
    const writer = spawn('sh', ['-c', `printf 'mappings: []\\n' > "$1"; sleep 1; printf 'mappings: [\\n' > "$1"`, 'sh', fifo], {
      stdio: 'ignore',
    });
    cleanups.push(async () => {
      if (writer.exitCode === null) writer.kill('SIGKILL');
    });
    const outcome = await reloadWith(
      d,
      originalStyleConfig(g.port, `${base}, prometheus: { port: 0, address: '127.0.0.1', mappingFile: '${fifo}' }`),
    );
    expect(outcome).toContain('config reload failed while applying it, keeping the current configuration');
    expect(outcome).toContain("config key 'prometheus.mappingFile'");
    // still up, on the old config: Graphite gets flushes, the old /metrics answers
    await d.send('after.reload:3|c');
    await flushWith(g, 'stats_counts.after.reload');
    const m = await httpGet(prom, '/metrics');
    expect(m.status).toBe(200);
    expect(d.proc.exitCode).toBeNull();
    expect(d.stderr.some((l) => l.includes('nhandled'))).toBe(false);
  });
});
