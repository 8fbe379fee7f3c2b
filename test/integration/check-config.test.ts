/**
 * `tallyd CONFIG --check-config` prints the effective configuration in the config file's own key
 * names (issue 13: an operator copies a printed key into a config file and it is accepted), black-box:
 * the built daemon's stdout, and that output written back as a config file and checked again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logRecords, MAIN } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tallyd-check-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(file: string): { code: number | null; stdout: string; stderr: string; json: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [MAIN, file, '--check-config'], { encoding: 'utf8', timeout: 20_000 });
  const end = r.stdout.lastIndexOf('\n}\n');
  const json = end === -1 ? {} : (JSON.parse(r.stdout.slice(0, end + 2)) as Record<string, unknown>);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

describe('--check-config prints the file key names', () => {
  it('config/example.js: mgmt_port, flushInterval, servers[] keys; no internal names; then "configuration OK"', () => {
    const r = check(join(ROOT, 'config', 'example.js'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.endsWith('}\nconfiguration OK\n')).toBe(true);
    expect(r.json.mgmt_port).toBe(8126);
    expect(r.json.flushInterval).toBe(10000);
    expect(r.json.graphiteHost).toBe('127.0.0.1');
    expect(r.json.servers).toEqual([{ server: 'udp', address: '0.0.0.0', port: 8125, address_ipv6: false }]);
    expect(r.json).toHaveProperty('udpRecvBuffer');
    for (const internal of ['mgmtPort', 'mgmtAddress', 'recvBufferBytes', 'flushCounts', 'configFile', 'ttlMs']) {
      expect(r.stdout).not.toContain(`"${internal}"`);
    }
  });

  it('its output, written back as a config file, is accepted with no warning and prints the same', () => {
    const source = join(dir, 'source.js');
    writeFileSync(
      source,
      `{ servers: [{ server: 'udp', port: 0 }, { server: 'tcp', port: 0, max_connections: 9 }], workers: 2, mgmt_port: 0,
         backends: ['graphite', 'repeater'], graphiteHost: '127.0.0.1', graphiteProtocol: 'pickle',
         repeater: [{ host: '127.0.0.1', port: 9 }], histogram: [{ metric: '', bins: [1, 'inf'] }],
         statusPage: { enabled: false } }`,
    );
    const first = check(source);
    expect(first.code, first.stderr).toBe(0);
    expect(logRecords(first.stderr)).toEqual([]);
    const printed = join(dir, 'printed.json');
    writeFileSync(printed, first.stdout.slice(0, first.stdout.lastIndexOf('\n}\n') + 2));
    const second = check(printed);
    expect(second.code, second.stderr).toBe(0);
    expect(logRecords(second.stderr)).toEqual([]); // no unknown key, no other warning
    expect(second.stdout).toBe(first.stdout);
  });

  it('the status page token is not printed', () => {
    const token = 'check-config-secret-token-42';
    const file = join(dir, 'token.js');
    writeFileSync(file, `{ port: 0, mgmt_port: 0, statusPage: { address: '0.0.0.0', port: 0, token: '${token}' } }`);
    const r = check(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(token);
    expect((r.json.statusPage as Record<string, unknown>).token).toBe('(set)');
  });

  it('a reader that stops early (`--check-config | head`) is no crash: exit 0, nothing on stderr', async () => {
    const child = spawn(process.execPath, [MAIN, join(ROOT, 'config', 'example.js'), '--check-config'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // closed before the daemon writes: its writes fail with EPIPE
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
