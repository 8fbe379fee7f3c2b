/**
 * `title` sets the process title (pgrep finds it), and `log.backend: 'syslog'` sends the logs as
 * syslog messages (APP-NAME log.application, facility local0, only log.level and above) to a real UDP
 * listener standing in for the local syslog's UDP input, and to a real Unix datagram socket (bound by
 * python3) standing in for the local syslog's /dev/log.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dgramReceiver as bindDgram, type DgramReceiver } from './dgram-receiver.js';
import { adminCommand, expectQuietFor, freePort, MAIN, type RunningDaemon, startDaemon, waitFor, waitForAsync } from './harness.js';

let daemon: RunningDaemon | null = null;
const procs: ChildProcess[] = [];
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '');
}

describe('title', () => {
  it("sets the process title from `title`, and to 'tallyd' by default", async () => {
    daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, title: 'mystatsd-test' }`);
    expect(cmdline(daemon.proc.pid!)).toBe('mystatsd-test');
    const found = spawnSync('pgrep', ['-f', '^mystatsd-test$'], { encoding: 'utf8' });
    expect(found.stdout.trim().split('\n')).toContain(String(daemon.proc.pid));
    await daemon.stop();

    daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0 }`);
    expect(cmdline(daemon.proc.pid!)).toBe('tallyd');
  }, 40_000);
});

describe("log.backend: 'syslog'", () => {
  it('sends RFC 5424 messages with log.application as APP-NAME, honouring log.level', async () => {
    const got: string[] = [];
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const syslogPort = sock.address().port;
    // a free UDP port for tallyd (the harness reads its ports from stderr, which syslog mode leaves quiet)
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const udpPort = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    try {
      const dir = mkdtempSync(join(tmpdir(), 'tallyd-syslog-'));
      const start = (name: string, log: string): ChildProcess => {
        const cfg = join(dir, `${name}.js`);
        writeFileSync(cfg, `{ port: ${udpPort}, address: '127.0.0.1', mgmt_port: 0, log: ${log} }`);
        const p = spawn(process.execPath, [MAIN, cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
        procs.push(p);
        return p;
      };

      // the default level (info) and the original's default application name
      const a = start('a', `{ backend: 'syslog', syslog: { port: ${syslogPort} } }`);
      const up = await waitFor(() => got.find((m) => m.includes('"msg":"tallyd is up"')), 15_000, "'tallyd is up' in syslog");
      // HOSTNAME is the host's name (it read "undefined" when the records carried no hostname)
      const host = hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(up).toMatch(new RegExp(`^<134>1 \\S+ ${host} statsd ${a.pid} - - \\{`));
      a.kill('SIGTERM');
      await new Promise((r) => a.once('exit', r));
      got.length = 0;

      // log.application and a syslog level name: only warnings and above
      const b = start('b', `{ backend: 'syslog', application: 'mystatsd', level: 'LOG_WARNING', syslog: { port: ${syslogPort} } }`);
      const bad = await badLineWarning(udpPort, got, "a 'bad line' warning in syslog");
      expect(bad).toMatch(new RegExp(`^<132>1 \\S+ ${host} mystatsd ${b.pid} - - \\{`));
      await expectQuietFor(200, () => {
        expect(got.every((m) => /^<13[0-2]>/.test(m))).toBe(true); // nothing below warning (info would be <134>)
        expect(got.some((m) => m.includes('tallyd is up'))).toBe(false);
      });
    } finally {
      sock.close();
    }
  }, 60_000);
});

/**
 * A Unix datagram socket bound at `path` by python3 (Node has none): prints "ready", then each datagram
 * as a JSON string on its own line, so the test sees the exact bytes (a trailing newline included).
 */
/** A receiver whose process the test's cleanup kills. */
async function dgramReceiver(path: string): Promise<DgramReceiver> {
  const rx = await bindDgram(path);
  procs.push(rx.proc);
  return rx;
}

/** Sends a bad line to tallyd's UDP port until its 'bad line' warning shows in `got` (logging starts a moment after the listener). */
async function badLineWarning(udpPort: number, got: readonly string[], what: string): Promise<string> {
  const send = dgram.createSocket('udp4');
  try {
    return await waitFor(
      () => {
        send.send('this is not a line', udpPort, '127.0.0.1');
        return got.find((m) => m.includes('"msg":"bad line"'));
      },
      15_000,
      what,
    );
  } finally {
    send.close();
  }
}

/** The local form syslog(3) sends to /dev/log: `<PRI>Mmm dd hh:mm:ss TAG[pid]: ` then the JSON record, no newline. */
const localForm = (pri: number, tag: string, pid: number): RegExp =>
  new RegExp(
    `^<${pri}>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\\d \\d\\d:\\d\\d:\\d\\d ${tag}\\[${pid}\\]: \\{[^\\n]*\\}$`,
  );

describe("log.backend: 'syslog' to a Unix datagram socket (log.syslog.dgram, the default /dev/log)", () => {
  it('sends the local syslog(3) form with log.application as TAG, facility local0, severity by level; reconnects when the receiver restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-syslog-dgram-'));
    const path = join(dir, 'log.sock');
    let rx = await dgramReceiver(path);
    const udpPort = await freePort('udp');
    const cfg = join(dir, 'a.js');
    writeFileSync(
      cfg,
      `{ port: ${udpPort}, address: '127.0.0.1', mgmt_port: 0, log: { backend: 'syslog', application: 'tallyd-x', syslog: { dgram: '${path}' } } }`,
    );
    const a = spawn(process.execPath, [MAIN, cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(a);
    const up = await waitFor(() => rx.got.find((m) => m.includes('"msg":"tallyd is up"')), 15_000, "'tallyd is up' on the socket");
    expect(up).toMatch(localForm(134, 'tallyd-x', a.pid!)); // local0 (16) × 8 + info (6)
    // the message is the pino record
    expect(JSON.parse(up.slice(up.indexOf(': ') + 2))).toMatchObject({ level: 30, msg: 'tallyd is up', pid: a.pid });

    const bad = await badLineWarning(udpPort, rx.got, "a 'bad line' warning on the socket");
    expect(bad).toMatch(localForm(132, 'tallyd-x', a.pid!)); // warning (4)

    // the syslog daemon restarts: a new socket at the same path; the next messages reach it
    await rx.stop();
    rx = await dgramReceiver(path);
    await waitFor(
      () => {
        a.kill('SIGHUP');
        return rx.got.find((m) => m.includes('SIGHUP: reloading'));
      },
      15_000,
      'a log message on the restarted receiver',
      500,
    );
    a.kill('SIGTERM');
    await new Promise((r) => a.once('exit', r));
    const stopped = await waitFor(() => rx.got.find((m) => m.includes('"msg":"stopped"')), 10_000, "'stopped' on the socket");
    expect(stopped).toMatch(localForm(134, 'tallyd-x', a.pid!));
    await rx.stop();
  }, 60_000);

  it('honours log.level, and sends once the socket appears after start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-syslog-dgram-'));
    const path = join(dir, 'log.sock');
    const rx = await dgramReceiver(path);
    const udpPort = await freePort('udp');
    const cfgB = join(dir, 'b.js');
    writeFileSync(
      cfgB,
      `{ port: ${udpPort}, address: '127.0.0.1', mgmt_port: 0, log: { backend: 'syslog', application: 'tallyd-x', level: 'LOG_WARNING', syslog: { dgram: '${path}' } } }`,
    );
    const b = spawn(process.execPath, [MAIN, cfgB], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(b);
    const bad = await badLineWarning(udpPort, rx.got, "a 'bad line' warning on the socket");
    expect(bad).toMatch(localForm(132, 'tallyd-x', b.pid!));
    await expectQuietFor(300, () => {
      expect(rx.got.every((m) => /^<1(2[89]|3[0-2])>/.test(m))).toBe(true); // warning and above only (info is <134>)
      expect(rx.got.some((m) => m.includes('tallyd is up'))).toBe(false);
    });
    b.kill('SIGTERM');
    await new Promise((r) => b.once('exit', r));
    await rx.stop();

    // no socket at start-up: a warning on stderr, messages lost until it appears, then sent
    const mgmtPort = await freePort();
    const cfgC = join(dir, 'c.js');
    writeFileSync(
      cfgC,
      `{ port: ${udpPort}, address: '127.0.0.1', mgmt_port: ${mgmtPort}, log: { backend: 'syslog', syslog: { dgram: '${path}' } } }`,
    );
    const c = spawn(process.execPath, [MAIN, cfgC], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(c);
    let stderr = '';
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitForAsync(
      async () => (await adminCommand(mgmtPort, 'health').catch(() => '')).includes('up'),
      15_000,
      'tallyd (no socket yet) to answer health',
      100,
    );
    expect(stderr).toContain(`config key 'log.syslog.dgram': ${path} does not exist`);
    const late = await dgramReceiver(path);
    const bad2 = await badLineWarning(udpPort, late.got, "a 'bad line' warning on the socket that appeared");
    expect(bad2).toMatch(localForm(132, 'statsd', c.pid!)); // the original's default application name
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
    await late.stop();
  }, 60_000);
});

/**
 * The default destination, /dev/log, with no `log.syslog` at all: tallyd runs in a mount namespace of
 * its own whose /dev is a fresh tmpfs, where python3 binds /dev/log (the host's /dev is not touched).
 * Skipped where a mount namespace cannot be made (not root, no CAP_SYS_ADMIN).
 */
const NAMESPACE_SETUP = 'mount --make-rprivate / && mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3';
const canUnshare = spawnSync('unshare', ['-m', 'sh', '-c', NAMESPACE_SETUP], { stdio: 'ignore' }).status === 0;

// as dgram-receiver.ts's, into a file; exits when its parent (tallyd) is gone
const DEVLOG_RECEIVER = `
import json, os, socket, sys
parent = os.getppid()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(0.2)
out = open(sys.argv[1], "a")
while os.getppid() == parent:
    try:
        out.write(json.dumps(s.recv(262144).decode("utf-8", "replace")) + "\\n")
        out.flush()
    except socket.timeout:
        pass
`;

describe.skipIf(!canUnshare)("log: { backend: 'syslog' } where /dev/log exists", () => {
  it('goes to /dev/log by default, in the local syslog(3) form', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-devlog-'));
    const out = join(dir, 'got.jsonl');
    writeFileSync(out, '');
    writeFileSync(join(dir, 'rx.py'), DEVLOG_RECEIVER);
    const cfg = join(dir, 'c.js');
    writeFileSync(cfg, `{ port: 0, address: '127.0.0.1', mgmt_port: 0, statusPage: { enabled: false }, log: { backend: 'syslog' } }`);
    const script = `${NAMESPACE_SETUP} && { python3 ${dir}/rx.py ${out} & } && while ! [ -S /dev/log ]; do sleep 0.05; done && exec ${process.execPath} ${MAIN} ${cfg}`;
    // unshare and bash exec: the daemon keeps this pid
    const d = spawn('unshare', ['-m', 'bash', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(d);
    const got = (): string[] =>
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as string);
    const up = await waitFor(() => got().find((m) => m.includes('"msg":"tallyd is up"')), 15_000, "'tallyd is up' on /dev/log");
    expect(up).toMatch(localForm(134, 'statsd', d.pid!));
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
  }, 40_000);
});
