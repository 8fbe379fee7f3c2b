/**
 * Packaging, black-box: `npm pack` gives a tarball that installs into a clean directory (its
 * dependencies from the registry, the native reader compiled by the install script) and runs as
 * `npx tallyd`: --version, and a real daemon that takes a UDP counter to a TCP Graphite listener.
 * Also: the systemd unit in contrib/ passes `systemd-analyze verify` where systemd-analyze exists.
 */
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeGraphite, ROOT, waitFor } from './harness.js';

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('npm pack', () => {
  const graphite = new FakeGraphite();
  afterAll(() => graphite.close());

  it('installs from the tarball into a clean directory and runs as npx tallyd', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tallyd-pack-'));
    // dist/ is current: test/global-setup.ts rebuilds it before any test when src/ is newer
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const tarball = join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "pack-check", "version": "1.0.0", "private": true }\n');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', tarball], { cwd: app, stdio: 'ignore' });

    const version = execFileSync('npx', ['--no-install', 'tallyd', '--version'], { cwd: app, encoding: 'utf8' }).trim();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version).toContain(pkg.version);
    // the documentation --help and the README point to is in the package
    const installed = join(app, 'node_modules', 'tallyd');
    const help = execFileSync('npx', ['--no-install', 'tallyd', '--help'], { cwd: app, encoding: 'utf8' });
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const pointed = new Set([
      ...[...help.matchAll(/\b(docs\/[\w.-]+\.md|README\.md)/g)].map((m) => m[1]!),
      ...[...readme.matchAll(/\]\(((?:docs|config|contrib)\/[\w./-]+?)(?:#[\w-]*)?\)/g)].map((m) => m[1]!),
    ]);
    expect(pointed.size).toBeGreaterThan(10);
    expect([...pointed].filter((f) => !existsSync(join(installed, f)))).toEqual([]);

    const gport = await graphite.listen();
    writeFileSync(
      join(app, 'config.js'),
      `{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
         graphiteHost: '127.0.0.1', graphitePort: ${gport}, backends: ['graphite'] }\n`,
    );
    const proc = spawn('npx', ['--no-install', 'tallyd', 'config.js'], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    try {
      const up = await waitFor(
        () => {
          for (const l of err.split('\n')) {
            if (!l.startsWith('{')) continue;
            const j = JSON.parse(l) as { msg?: string; listeners?: string[] };
            if (j.msg === 'tallyd is up') return j;
          }
          return undefined;
        },
        20_000,
        'the packed tallyd to start',
      );
      expect(err).not.toContain('native UDP reader');
      const udp = (up.listeners ?? []).find((d) => d.startsWith('udp '))!;
      const port = Number(udp.slice(udp.lastIndexOf(':') + 1));
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((res, rej) => sock.send('packed.hits:7|c', port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      sock.close();
      await waitFor(() => graphite.values('stats_counts.packed.hits').includes(7), 10_000, 'the count at Graphite');
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.on('exit', r));
    }
  }, 240_000);
});

describe.runIf(have('systemd-analyze'))('systemd unit', () => {
  it('passes systemd-analyze verify', () => {
    const unit = join(ROOT, 'contrib', 'systemd', 'tallyd.service');
    // verify prints warnings about other installed units on stderr; it exits non-zero only for ours
    execFileSync('systemd-analyze', ['verify', unit], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
});
