/**
 * Resilience, black-box (issue 4, points 4, 6, 7): garbage over UDP and TCP never stops the daemon and
 * never costs a valid line; kernel receive errors are visible; the defaults bind 127.0.0.1 and the
 * admin interface evaluates nothing.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { adminCommand, MAIN, pace, statsMap, sum, useCleanups, waitCounters, waitFor } from './harness.js';

const { cleanups, setup } = useCleanups();

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lines the parser must refuse (each is a counted bad line). */
const BAD_LINES = [
  'fuzz.bad:1|x',
  'fuzz.bad:abc|c',
  'fuzz.bad1|c',
  'fuzz.bad:|c',
  'fuzz.bad:1',
  'fuzz.bad:1|',
  ':1|c',
  'fuzz.bad:1|c|@abc',
  'fuzz.bad:1|ms|@',
  'fuzz.bad:1|qq',
  'fuzz.bad:NaNx|g',
];

describe('bad input over the wire', () => {
  it('random bytes, a 65507-byte packet, near-valid and valid lines mixed: every valid line counts', async () => {
    const { g, d } = await setup('');
    const r = rng(0x7a11);
    let valid = 0;
    let bad = 0;
    // 1) random-byte packets (bounded: 300 packets up to 1400 bytes)
    for (let i = 0; i < 300; i++) {
      const len = 1 + Math.floor(r() * 1400);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(r() * 256);
      await d.send(b);
      if (i % 50 === 49) await pace(5);
    }
    // 2) packets of valid, near-valid (mutated) and known-bad lines, shuffled together
    for (let i = 0; i < 200; i++) {
      const lines: string[] = [];
      for (let j = 0; j < 20; j++) {
        const p = r();
        if (p < 0.5) {
          lines.push(`fuzz.valid.k${Math.floor(r() * 10)}:1|c`);
          valid++;
        } else if (p < 0.8) {
          lines.push(BAD_LINES[Math.floor(r() * BAD_LINES.length)]!);
          bad++;
        } else {
          // a valid line with one byte replaced by a control byte in its value or type: refused
          const cut = 2 + Math.floor(r() * 3);
          const base = 'fuzz.mut:1|c';
          lines.push(base.slice(0, base.length - cut) + String.fromCharCode(1 + Math.floor(r() * 8)) + base.slice(base.length - cut + 1));
          bad++;
        }
      }
      await d.send(lines.join('\n'));
    }
    // 3) max-size UDP payloads on loopback (65507 bytes) full of valid lines
    const big = Buffer.from('big.c:1|c\n'.repeat(6550) + 'big:1|c');
    expect(big.length).toBe(65507);
    for (let i = 0; i < 5; i++) {
      await d.send(big);
      await pace(30);
    }

    await waitFor(() => sum(g.values('stats_counts.big.c')) === 5 * 6550, 10_000, 'every line of the big packets');
    await waitFor(
      () => {
        let n = 0;
        for (let k = 0; k < 10; k++) n += sum(g.values(`stats_counts.fuzz.valid.k${k}`));
        return n === valid;
      },
      10_000,
      `${valid} valid mixed lines`,
    );
    expect(sum(g.values('stats_counts.big'))).toBe(5);
    expect(g.has('stats_counts.fuzz.mut')).toBe(false);
    expect(g.has('stats_counts.fuzz.bad')).toBe(false);
    const s = statsMap(await d.admin('stats'));
    expect(Number(s.get('messages.bad_lines_seen'))).toBeGreaterThanOrEqual(bad);
    expect(sum(g.values('stats_counts.statsd.bad_lines_seen'))).toBeGreaterThanOrEqual(bad);
    expect(await d.admin('health')).toBe('health: up\n');
    expect(d.proc.exitCode).toBeNull();
  });

  it('tcp: a line over tcpMaxLineLength is counted and skipped, the connection stays open', async () => {
    const { g, d } = await setup(`, tcpMaxLineLength: 100
      , servers: [ { server: 'udp', address: '127.0.0.1', port: 0 }, { server: 'tcp', address: '127.0.0.1', port: 0 } ]`);
    const sock = net.createConnection(d.tcpPorts[0]!, '127.0.0.1');
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    await new Promise((res) => sock.on('connect', res));
    sock.write('tcp.ok:1|c\n' + 'tcp.long:'.padEnd(5000, 'x') + '|c\n' + 'tcp.ok:2|c\n');
    await waitCounters(d, "'tcp.ok': 3"); // read before the next pieces are written
    sock.write('x'.repeat(3000)); // another long one, in pieces
    sock.write('y'.repeat(3000) + '\ntcp.ok:4|c\n');
    await waitFor(() => sum(g.values('stats_counts.tcp.ok')) === 7, 10_000, 'tcp.ok = 7');
    expect(closed).toBe(false);
    expect(g.has('stats_counts.tcp.long')).toBe(false);
    expect(sum(g.values('stats_counts.statsd.bad_lines_seen'))).toBe(2);
    sock.end();
  });
});

describe('loss you can see', () => {
  it('udp_receive_errors is a gauge in every flush and a line of the admin stats', async () => {
    const { g, d } = await setup('');
    await d.send('seen.c:1|c');
    await waitFor(() => g.values('stats.gauges.statsd.udp_receive_errors').length >= 2, 10_000, 'udp_receive_errors in two flushes');
    for (const v of g.values('stats.gauges.statsd.udp_receive_errors')) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    }
    const s = statsMap(await d.admin('stats'));
    expect(s.get('messages.udp_receive_errors')).toMatch(/^\d+$/);
    expect(s.get('messages.keys_dropped')).toBe('0');
  });
});

describe('secure defaults', () => {
  it('the embedded default binds admin (and the prometheus endpoint) on 127.0.0.1; admin evaluates nothing', async () => {
    const proc = spawn(process.execPath, [MAIN, '--port', '0', '--mgmt-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((res) => proc.on('exit', res));
      }
    });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    proc.stdout.resume();
    const up = await waitFor(
      () => {
        for (const l of err.split('\n')) if (l.includes('"tallyd is up"')) return JSON.parse(l) as { mgmt: string };
        return undefined;
      },
      15_000,
      'tallyd is up',
    );
    expect(up.mgmt).toMatch(/^127\.0\.0\.1:\d+$/);
    const mgmtPort = Number(up.mgmt.slice(up.mgmt.lastIndexOf(':') + 1));
    expect(mgmtPort).toBeGreaterThan(0);
    expect(await adminCommand(mgmtPort, "config; require('child_process').execSync('touch /tmp/pwned')")).toBe('ERROR\n');
    expect(await adminCommand(mgmtPort, 'stats; process.exit(3)')).toBe('ERROR\n');
    expect(await adminCommand(mgmtPort, "require('child_process')")).toBe('ERROR\n');
    expect(await adminCommand(mgmtPort, 'health')).toBe('health: up\n');
    expect(proc.exitCode).toBeNull();

    // the prometheus HTTP endpoint, configured with a port only, binds 127.0.0.1 too
    const { d } = await setup(", backends: ['./backends/graphite', 'prometheus'], prometheus: { port: 0 }");
    const served = await waitFor(() => d.stderr.find((l) => l.includes('prometheus: serving')), 5000, 'prometheus serving log');
    expect((JSON.parse(served) as { url: string }).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  });
});
