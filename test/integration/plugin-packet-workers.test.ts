/**
 * npm backends' `packet(msg, rinfo)` events with `workers: 2`: the plug-ins run in the primary, the
 * packets arrive in the workers, which forward them (src/cluster/worker-forward.ts) only while a
 * plug-in listens to 'packet'. Real UDP (and TCP) senders; the recorder fixture plug-in writes what it
 * gets; the admin `stats` lines `messages.packets_forwarded` / `packets_forward_dropped` say what the
 * workers forwarded and dropped.
 */
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, ROOT, type RunningDaemon, readRecordings, stat, useCleanups, waitFor, waitLog, waitStats } from './harness.js';

const RECORDER = join(ROOT, 'test', 'fixtures', 'plugins', 'recorder.cjs');
const scope = useCleanups();

interface PacketRecord {
  event: string;
  msg: string;
  buffer: boolean;
  size: number;
  rinfo: string[];
  sender: { address: string; family: string; port: number };
}

const records = (file: string): PacketRecord[] => readRecordings<PacketRecord>(file);
const packets = (file: string): PacketRecord[] => records(file).filter((r) => r.event === 'packet');

function config(file: string, extra: string, recorder: { packets?: boolean } = {}, withPlugin = true): string {
  return `{
    mgmt_port: 0, mgmt_address: '127.0.0.1', flushInterval: 500, workers: 2, statusPage: { enabled: false },
    backends: [${withPlugin ? JSON.stringify(RECORDER) : ''}], recorder: ${JSON.stringify({ file, ...recorder })},
    ${extra}
  }`;
}

async function senders(n: number): Promise<dgram.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      scope.cleanups.push(async () => s.close());
      return s;
    }),
  );
}

const sendFrom = (s: dgram.Socket, port: number, payload: string | Buffer): Promise<void> =>
  new Promise((res, rej) => s.send(payload, port, '127.0.0.1', (e) => (e ? rej(e) : res())));

/** Waits until the primary has merged `n` packets in all (the workers answered a collect after them). */
const received = (d: RunningDaemon, n: number): Promise<Map<string, string>> =>
  waitStats(d, (s) => stat(s, 'messages.packets_received') >= n, `${n} packets received`, 20_000);

describe('npm backend packet events with workers: 2', () => {
  for (const reader of ['native', 'dgram'] as const) {
    it(`the plug-in gets every packet, bytes and rinfo as sent (${reader} reader, and TCP)`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'tallyd-pktfwd-')), 'rec.jsonl');
      // native: each worker reads its own SO_REUSEPORT socket on a fixed port; dgram (port 0): one shared socket
      const port = reader === 'native' ? await freePort('udp') : 0;
      const d = await scope.daemonOn(
        config(
          file,
          `udpReader: '${reader}', servers: [ { server: 'udp', address: '127.0.0.1', port: ${port} }, { server: 'tcp', address: '127.0.0.1', port: 0 } ]`,
        ),
      );
      await waitLog(d, 'the workers forward every packet');
      const socks = await senders(8);
      const sent = new Map<string, number>();
      for (let i = 0; i < 320; i++) {
        const s = socks[i % socks.length]!;
        // sizes vary, one packet of several lines in each ten
        const msg = i % 10 === 0 ? `pf.multi${i}:1|c\npf.t:${i}|ms` : `pf.k${i}:${i}|c${'#'.repeat(i % 7)}`;
        sent.set(msg, s.address().port);
        await sendFrom(s, d.udpPort, msg);
      }
      const tcp = net.createConnection(d.tcpPorts[0]!, '127.0.0.1');
      await new Promise<void>((res, rej) => tcp.once('connect', res).once('error', rej));
      const tcpFrom = tcp.localPort!;
      await new Promise<void>((res) => tcp.end('pf.tcp:1|c\n', res));

      await waitFor(() => packets(file).length >= 321, 30_000, 'a packet event for each of the 321 packets');
      const got = packets(file);
      const udp = got.filter((p) => p.msg !== 'pf.tcp:1|c\n');
      expect(udp).toHaveLength(320);
      expect(new Set(udp.map((p) => p.msg))).toEqual(new Set(sent.keys()));
      for (const p of udp) {
        expect(p.buffer).toBe(true);
        expect(p.rinfo).toEqual(['address', 'family', 'port', 'size']);
        expect(p.size).toBe(Buffer.byteLength(p.msg));
        expect(p.sender).toEqual({ address: '127.0.0.1', family: 'IPv4', port: sent.get(p.msg) });
      }
      const viaTcp = got.filter((p) => p.msg === 'pf.tcp:1|c\n');
      expect(viaTcp).toHaveLength(1);
      expect(viaTcp[0]!.sender).toEqual({ address: '127.0.0.1', family: 'IPv4', port: tcpFrom });
      const s = await received(d, 321);
      expect(stat(s, 'messages.packets_forwarded')).toBe(321);
      expect(stat(s, 'messages.packets_forward_dropped')).toBe(0);
    }, 90_000);
  }

  it('a plug-in without a packet listener: the workers forward nothing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tallyd-pktfwd-')), 'rec.jsonl');
    const d = await scope.daemonOn(config(file, "port: 0, address: '127.0.0.1'", { packets: false }));
    const [s] = await senders(1);
    for (let i = 0; i < 100; i++) await sendFrom(s!, d.udpPort, `nf.k${i}:1|c`);
    const stats = await received(d, 100);
    expect(stat(stats, 'messages.packets_forwarded')).toBe(0);
    expect(stat(stats, 'messages.packets_forward_dropped')).toBe(0);
    // the plug-in works otherwise (flushes) and no worker was asked to forward
    await waitFor(() => records(file).some((r) => r.event === 'flush'), 10_000, 'a flush event');
    expect(d.stderr.some((l) => l.includes('the workers forward every packet'))).toBe(false);
  }, 60_000);

  it('past workerPacketForwardBytes packets are dropped for the plug-in only, counted and logged; ingest keeps them', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tallyd-pktfwd-')), 'rec.jsonl');
    // 1000 bytes: a 2000-byte packet never fits, a small one does while little is queued
    const d = await scope.daemonOn(config(file, "port: 0, address: '127.0.0.1', workerPacketForwardBytes: 1000"));
    const [s] = await senders(1);
    const big = (i: number): string => `big.k${i}:1|c\n${'#'.repeat(2000)}`;
    for (let i = 0; i < 60; i++) await sendFrom(s!, d.udpPort, i % 2 === 0 ? `small.k${i}:1|c` : big(i));
    const stats = await received(d, 60);
    const forwarded = stat(stats, 'messages.packets_forwarded');
    const dropped = stat(stats, 'messages.packets_forward_dropped');
    expect(dropped).toBeGreaterThanOrEqual(30);
    expect(forwarded + dropped).toBe(60);
    expect(forwarded).toBeGreaterThan(0);
    await waitFor(() => packets(file).length >= forwarded, 10_000, 'the forwarded packets recorded');
    const got = packets(file);
    expect(got).toHaveLength(forwarded);
    expect(got.every((p) => p.msg.startsWith('small.'))).toBe(true);
    // the dropped packets were counted all the same
    expect(stat(stats, 'messages.lines_received')).toBeGreaterThanOrEqual(60);
    const warn = await waitLog(d, 'dropped: more than workerPacketForwardBytes');
    expect(warn.level).toBe(40);
    // rate-limited: at most one per worker per 10 s here
    expect(d.stderr.filter((l) => l.includes('dropped: more than workerPacketForwardBytes')).length).toBeLessThanOrEqual(2);
  }, 60_000);

  it('a reload that removes or adds the plug-in stops or starts the forwarding', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tallyd-pktfwd-')), 'rec.jsonl');
    const extra = "port: 0, address: '127.0.0.1', automaticConfigReload: false";
    const d = await scope.daemonOn(config(file, extra));
    const [s] = await senders(1);
    let total = 0;
    const send = async (prefix: string, n: number): Promise<Map<string, string>> => {
      for (let i = 0; i < n; i++) await sendFrom(s!, d.udpPort, `${prefix}${i}:1|c`);
      total += n;
      return received(d, total);
    };
    await send('a.k', 20);
    await waitFor(() => packets(file).length >= 20, 10_000, 'the first 20 packets recorded');

    writeFileSync(d.configFile, config(file, extra, {}, false));
    d.proc.kill('SIGHUP');
    await waitLog(d, "no npm backend listens to 'packet': the workers forward no packets");
    // a packet merged at a flush after it: the workers took the message that came before that collect
    await send('sync.k', 1);
    const before = stat(await send('b.k', 20), 'messages.packets_forwarded');
    const after = stat(await send('c.k', 1), 'messages.packets_forwarded');
    expect(after).toBe(before);
    expect(packets(file).some((p) => p.msg.startsWith('b.k') || p.msg.startsWith('c.k'))).toBe(false);

    writeFileSync(d.configFile, config(file, extra));
    d.proc.kill('SIGHUP');
    await waitFor(() => d.stderr.filter((l) => l.includes('the workers forward every packet')).length >= 2, 15_000, 'forwarding on again');
    await send('sync2.k', 1);
    await send('d.k', 20);
    await waitFor(() => packets(file).filter((p) => p.msg.startsWith('d.k')).length === 20, 10_000, 'the last 20 packets recorded');
  }, 90_000);
});
