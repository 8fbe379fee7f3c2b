/**
 * `title` sets the process title (pgrep finds it), and `log.backend: 'syslog'` sends the logs as
 * syslog messages (APP-NAME log.application, facility local0, only log.level and above) to a real UDP
 * listener standing in for the local syslog's UDP input.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectQuietFor, MAIN, type RunningDaemon, startDaemon, waitFor } from './harness.js';

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
      const send = dgram.createSocket('udp4');
      const bad = await waitFor(
        () => {
          send.send('this is not a line', udpPort, '127.0.0.1');
          return got.find((m) => m.includes('"msg":"bad line"'));
        },
        15_000,
        "a 'bad line' warning in syslog",
      );
      send.close();
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
