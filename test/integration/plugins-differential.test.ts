/**
 * Differential test against the original itself: one plug-in (test/fixtures/plugins/recorder.cjs)
 * records every init/flush/status/packet call it gets, first under tallyd, then under the original
 * statsd 0.9.0 (npm `statsd`, a dev dependency), on the same traffic. The recordings must be equal,
 * apart from the differences the README documents (normalised below, each one named).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminCommand, freePort, ROOT, readRecordings, startDaemon, waitFor } from './harness.js';

const RECORDER = join(ROOT, 'test', 'fixtures', 'plugins', 'recorder.cjs');
const ORIGINAL = join(ROOT, 'node_modules', 'statsd', 'stats.js');

/** The same traffic for both: every type, sample rates, a tagged key, a key to sanitise, a bad line, a histogram. */
const PACKETS = [
  'foo:1|c',
  'foo:2|c|@0.5',
  'multi:1|c\nt:320|ms\nt:100|ms\nt:5|ms|@0.1',
  'g:5|g',
  'g:+3|g',
  'down:-4|g',
  's:a|s',
  's:b|s\ns:a|s',
  'h:1|ms\nh:2|ms\nh:3|ms\nh:4|ms\nh:30|ms',
  'tagged:7|c|#env:prod,host:a',
  'we ird/key!:1|c',
  'bad line',
];

const COMMON = (file: string): string => `
  flushInterval: 2000,
  percentThreshold: [90, -10, 99.9],
  histogram: [{ metric: 'h', bins: [2, 10, 'inf'] }],
  backends: [${JSON.stringify(RECORDER)}],
  recorder: { file: ${JSON.stringify(file)} },`;

interface Recording {
  event: string;
  [k: string]: unknown;
}

const read = (file: string): Recording[] => readRecordings<Recording>(file);

function sendAll(port: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  return (async () => {
    for (const p of PACKETS)
      await new Promise<void>((res, rej) => sock.send(Buffer.from(p), port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    sock.close();
  })();
}

/**
 * Drives one daemon: once its first flush is recorded, sends the traffic (right after a flush: the next
 * one, 2 s later, holds all of it), waits for two more flushes (the busy one and an idle one), asks the
 * admin `stats`, and returns the recording and the answer.
 */
async function drive(file: string, udpPort: number, mgmtPort: number): Promise<{ rec: Recording[]; stats: string }> {
  const flushes = (): number => read(file).filter((r) => r.event === 'flush').length;
  await waitFor(() => flushes() >= 1, 20_000, 'a first flush');
  await sendAll(udpPort);
  await waitFor(() => flushes() >= 3, 20_000, 'two more flushes');
  const stats = await adminCommand(mgmtPort, 'stats');
  await waitFor(() => read(file).some((r) => r.event === 'status'), 5000, 'the status event');
  return { rec: read(file), stats };
}

/**
 * The documented differences, normalised: statsd.timestamp_lag's value (a measure of each run's own
 * timing), tallyd's own gauges statsd.udp_receive_errors, statsd.key_table_bytes and statsd.tcp_*. Packets are compared as
 * a sorted list, each with its rinfo (keys, size, sender address and family; the port as "a port").
 */
function normalise(rec: Recording[]): unknown {
  const flushes = rec
    .filter((r) => r.event === 'flush')
    .slice(1, 3)
    .map((r) => {
      const m = structuredClone(r.metrics) as { gauges: Record<string, unknown> };
      if ('statsd.timestamp_lag' in m.gauges) m.gauges['statsd.timestamp_lag'] = 'number';
      delete m.gauges['statsd.udp_receive_errors'];
      delete m.gauges['statsd.key_table_bytes'];
      for (const k of Object.keys(m.gauges)) if (k.startsWith('statsd.tcp_')) delete m.gauges[k];
      return { ...r, metrics: m };
    });
  return {
    init: rec.filter((r) => r.event === 'init'),
    flushes,
    // (the sender's port is the test socket's, a new one each run: compared as "a port")
    packets: rec
      .filter((r) => r.event === 'packet')
      .map((r) => {
        const from = r.sender as { port: unknown };
        return JSON.stringify({ ...r, sender: { ...from, port: typeof from.port === 'number' && from.port > 0 ? 'a port' : from.port } });
      })
      .sort(),
    status: rec.filter((r) => r.event === 'status').slice(0, 1),
  };
}

describe('npm backend interface: the same recording under tallyd and under the original statsd 0.9.0', () => {
  it('flush, status and packet calls are equal apart from the documented differences', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-diff-'));

    // tallyd
    const tallydFile = join(dir, 'tallyd.jsonl');
    const d = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, ${COMMON(tallydFile)} }`);
    let tallyd: { rec: Recording[]; stats: string };
    try {
      tallyd = await drive(tallydFile, d.udpPort, d.mgmtPort);
    } finally {
      await d.stop();
    }

    // the original
    const origFile = join(dir, 'original.jsonl');
    const [udp, mgmt] = [await freePort('udp'), await freePort('tcp')];
    const cfg = join(dir, 'original.js');
    writeFileSync(cfg, `{ port: ${udp}, address: '127.0.0.1', mgmt_port: ${mgmt}, mgmt_address: '127.0.0.1', ${COMMON(origFile)} }`);
    const proc = spawn(process.execPath, [ORIGINAL, cfg], { stdio: ['ignore', 'pipe', 'pipe'], cwd: join(ROOT, 'node_modules', 'statsd') });
    let original: { rec: Recording[]; stats: string };
    try {
      original = await drive(origFile, udp, mgmt);
    } finally {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    }

    // both printed the plug-in's own status line
    expect(tallyd.stats).toMatch(/^recorder\.flushes: \d+$/m);
    expect(original.stats).toMatch(/^recorder\.flushes: \d+$/m);
    // the traffic reached the busy flush (a sanity check of the timing)
    const busy = normalise(tallyd.rec) as { flushes: Array<{ metrics: { counters: Record<string, number> } }> };
    expect(busy.flushes[0]!.metrics.counters.foo).toBe(5);

    expect(normalise(tallyd.rec)).toEqual(normalise(original.rec));
  }, 90_000);
});
