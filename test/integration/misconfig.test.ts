/**
 * No silent misconfiguration (issue 13, point 3), black-box: flags that imply a backend enable it,
 * every config problem comes out in one pass, stderr is one log format, bind errors name the
 * address and port, exit codes are the documented ones, and unknown keys get a "did you mean".
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logRecords, logText, MAIN, type RunningDaemon, startDaemon, waitFor } from './harness.js';
import { httpGet, prometheusPort } from './prometheus-helpers.js';

/** Base config: everything on 127.0.0.1 port 0, the status page off (its default port is shared). */
const BASE = "port: 0, address: '127.0.0.1', mgmt_port: 0, statusPage: { enabled: false }";

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-misconfig-'));
  const file = join(dir, 'config.js');
  writeFileSync(file, text);
  return file;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let daemon: RunningDaemon | undefined;
const held: Array<{ close(): void }> = [];
afterEach(async () => {
  if (daemon) await daemon.stop().catch(() => undefined);
  daemon = undefined;
  for (const h of held.splice(0)) h.close();
});

describe('a flag that implies a backend enables it', () => {
  it('--backend console --prometheus-port P serves /metrics (the flag adds the backend, as --help says)', async () => {
    daemon = await startDaemon(`{ ${BASE} }`, ['--backend', 'console', '--prometheus-port', '0']);
    const up = logRecords(daemon.stderr.join('\n')).find((r) => r.msg === 'tallyd is up')!;
    expect(up.backends).toEqual(['console', 'prometheus']);
    const port = await prometheusPort(daemon);
    const r = await httpGet(port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toContain('tallyd_');
  });

  it('--backend console -g host:port adds graphite (check-config shows both)', () => {
    const r = run(['--backend', 'console', '-g', '127.0.0.1:2003', '--check-config']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1)).backends).toEqual(['console', 'graphite']);
  });

  it('a prometheus section without the backend stops start-up naming the section, exit 1', () => {
    const r = run([configFile(`{ ${BASE}, backends: ['console'], prometheus: { port: 0 } }`), '--check-config']);
    expect(r.code, r.stderr).toBe(1);
    expect(logText(r.stderr)).toContain("config section 'prometheus' is set but the 'prometheus' backend is not in 'backends'");
    // with --prometheus-port the backend is added, and the section is its own
    const ok = run([configFile(`{ ${BASE}, backends: ['console'], prometheus: { port: 0 } }`), '--prometheus-port', '0', '--check-config']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an original graphite key without the graphite backend is a warning (the original ignores it), exit 0', () => {
    const r = run([configFile(`{ ${BASE}, backends: ['console'], graphiteHost: '127.0.0.1' }`), '--check-config']);
    expect(r.code, r.stderr).toBe(0);
    expect(logText(r.stderr)).toContain("config key 'graphiteHost' is set but the 'graphite' backend is not in 'backends'");
  });
});

describe('every config problem in one pass', () => {
  it('core keys, an unknown backend and a bad backend section are reported together, exit 1', () => {
    const file = configFile(`{ ${BASE}, flushInterval: 'soon', backends: ['prometheus', 'nosuch-backend'], prometheus: { port: 'x' } }`);
    const r = run([file]);
    expect(r.code).toBe(1);
    const records = logRecords(r.stderr);
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(rec.msg).toBe(`invalid configuration in ${file}: 3 problems`);
    expect(rec.problems).toHaveLength(3);
    expect(rec.problems).toEqual(
      expect.arrayContaining([
        'config key \'flushInterval\': expected a positive integer (ms), got "soon"',
        expect.stringContaining('config key \'backends\': "nosuch-backend" is not a built-in backend'),
        'config key \'prometheus.port\': expected an integer from 0 to 65535, got "x"',
      ]),
    );
  });

  it("a misspelt key's 'did you mean' comes with the problems, not only once they are fixed", () => {
    const file = configFile(`{ ${BASE}, flushIntreval: 1000, graphitePort: 'x', backends: ['graphite'], graphiteHost: '127.0.0.1' }`);
    const r = run([file, '--check-config']);
    expect(r.code).toBe(1);
    const records = logRecords(r.stderr);
    expect(records).toHaveLength(1);
    expect(records[0]!.msg).toBe(`invalid configuration in ${file}: 1 problem, 1 warning`);
    expect(records[0]!.problems).toEqual([
      'config key \'graphitePort\': expected a port number (1..65535), got "x"',
      "warning: unknown config key 'flushIntreval' (ignored; did you mean 'flushInterval'?)",
    ]);
  });

  it('each problem is reported once, a backend section that is not an object and its mapping file included', () => {
    const file = configFile(
      `{ ${BASE}, backends: ['prometheus', 'graphite'], prometheus: 7, graphite: { timeoutMs: -1 }, statusPage: { address: '0.0.0.0' } }`,
    );
    const r = run([file, '--check-config']);
    expect(r.code).toBe(1);
    const rec = logRecords(r.stderr)[0]!;
    expect(rec.problems).toEqual([
      "config key 'graphite.timeoutMs': expected a positive integer (ms), got -1",
      "config key 'prometheus': expected an object, got 7",
      'config key \'statusPage.token\': required when statusPage.address is not a loopback address (it is "0.0.0.0")',
    ]);
    const file2 = configFile(`{ ${BASE}, backends: ['prometheus'], prometheus: { mappingFile: '/nonexistent/m.yml', ttl: -1 } }`);
    expect(logRecords(run([file2, '--check-config']).stderr)[0]!.problems).toEqual([
      "config key 'prometheus.ttl': expected seconds (a number >= 0) or a duration like '1h', got -1",
      "config key 'prometheus.mappingFile': cannot read mapping file /nonexistent/m.yml: ENOENT",
    ]);
  });
});

describe('one log format on stderr', () => {
  it('warnings, config errors, usage errors and start failures are pino JSON lines, each key once', () => {
    const outputs = [
      run([configFile(`{ ${BASE}, flushIntreval: 5 }`), '--check-config']).stderr, // a warning
      run(['--backend', 'nosuch']).stderr, // invalid configuration
      run(['--no-such-flag']).stderr, // usage error
      run(['--port', 'x']).stderr, // malformed flag value
    ];
    for (const text of outputs) {
      const records = logRecords(text); // throws on a line that is not JSON
      expect(records.length).toBeGreaterThan(0);
      for (const line of text.trim().split('\n')) expect(line.match(/"name":/g), line).toHaveLength(1);
    }
    expect(logText(outputs[0]!)).toContain("did you mean 'flushInterval'?");
  });

  it('--log-format pretty: one readable line per record, no JSON', () => {
    const r = run(['--backend', 'nosuch', '--log-format', 'pretty']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^\{/m);
    expect(r.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR \[config\] invalid configuration: 1 problem/m);
    expect(r.stderr).toMatch(/^ {4}config key 'backends': "nosuch" is not a built-in backend/m);
    const bad = run(['--log-format', 'xml']);
    expect(bad.code).toBe(2);
  });

  it('a running daemon with --log-format pretty logs tallyd is up as a pretty line', async () => {
    const proc = spawn(process.execPath, [MAIN, configFile(`{ ${BASE}, backends: ['console'] }`), '--log-format', 'pretty'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    held.push({ close: () => proc.kill('SIGKILL') });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    await waitFor(() => / INFO {2}\[daemon\] tallyd is up listeners=/.test(err), 15_000, 'the pretty up line');
    expect(err).not.toMatch(/^\{/m);
  });
});

describe('bind errors name the address and port', () => {
  const failsNaming = (args: string[], what: string, port: number): void => {
    const r = run(args);
    expect(r.code, r.stderr).toBe(1);
    const fatal = logRecords(r.stderr).find((x) => x.level === 60)!;
    expect(fatal.msg).toBe(`cannot start: ${what}: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
  };

  it('UDP (native reader and dgram), TCP, admin, Prometheus and the status page', async () => {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()));
    held.push(udp);
    const tcp = net.createServer();
    await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', () => res()));
    held.push(tcp);
    const udpPort = udp.address().port;
    const tcpPort = (tcp.address() as net.AddressInfo).port;
    const file = (extra: string): string =>
      configFile(`{ mgmt_port: 0, ${extra.includes('statusPage') ? '' : 'statusPage: { enabled: false }, '}${extra} }`);
    failsNaming([file(`address: '127.0.0.1', port: ${udpPort}`)], 'udp listener', udpPort);
    failsNaming([file(`address: '127.0.0.1', port: ${udpPort}, udpReader: 'dgram'`)], 'udp listener', udpPort);
    failsNaming([file(`servers: [{ server: 'tcp', address: '127.0.0.1', port: ${tcpPort} }]`)], 'tcp listener', tcpPort);
    failsNaming([file(`address: '127.0.0.1', port: 0`), '--mgmt-port', String(tcpPort)], 'admin interface', tcpPort);
    failsNaming([file(`address: '127.0.0.1', port: 0`), '--prometheus-port', String(tcpPort)], 'prometheus metrics server', tcpPort);

    // the status page: fatal when its port is configured (a default port that is taken is a warning)
    failsNaming([file(`address: '127.0.0.1', port: 0, statusPage: { port: ${tcpPort} }`)], 'status page', tcpPort);
  });
});

describe('exit codes as documented (README "Exit codes", --help)', () => {
  it.each([
    ['--help', ['--help'], 0],
    ['--version', ['--version'], 0],
    ['--check-config, valid', ['--check-config'], 0],
    ['unknown flag', ['--bogus'], 2],
    ['malformed flag value', ['--flush-interval', 'abc'], 2],
    ['bad --log-level', ['--log-level', 'loud'], 2],
    ['a config file given twice', ['a.js', '--config', 'b.js'], 2],
    ['unknown backend name from a flag', ['--backend', 'nosuch', '--check-config'], 1],
    ['missing config file', ['/nonexistent/tallyd.js', '--check-config'], 1],
  ])('%s → exit %s', (_what, args, code) => {
    expect(run(args as string[]).code).toBe(code);
  });

  it('an invalid key in the file → 1; --help lists the codes', () => {
    expect(run([configFile(`{ ${BASE}, flushInterval: -1 }`), '--check-config']).code).toBe(1);
    const help = run(['--help']).stdout;
    expect(help).toContain('Exit codes:');
    expect(help).toMatch(/^ {2}2 +usage error/m);
    // complete: the default endpoints, the signals, where the reference is
    expect(help).toContain('status page on http://127.0.0.1:8127/');
    expect(help).toMatch(/^ {2}SIGHUP +reload/m);
    expect(help).toContain('docs/reference.md');
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
