/**
 * The `packet(msg, rinfo)` event of an npm backend gets the sender's address, family and port, as the
 * original's (dgram's rinfo): through the native UDP reader, the dgram reader and a TCP connection
 * (the peer). The sender's port is the test socket's own, so it is checked exactly.
 */
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, readRecordings, startDaemon, waitFor } from './harness.js';

const RECORDER = join(ROOT, 'test', 'fixtures', 'plugins', 'recorder.cjs');

interface PacketRecord {
  event: string;
  msg: string;
  size: number;
  sender: { address: string; family: string; port: number };
}

const packets = (file: string): PacketRecord[] => readRecordings<PacketRecord>(file).filter((r) => r.event === 'packet');

async function sendUdp(port: number, text: string): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const from = sock.address().port;
  await new Promise<void>((res, rej) => sock.send(Buffer.from(text), port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  sock.close();
  return from;
}

async function sendTcp(port: number, text: string): Promise<number> {
  const sock = net.createConnection(port, '127.0.0.1');
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  const from = sock.localPort!;
  await new Promise<void>((res) => sock.end(text, res));
  return from;
}

describe('npm backend packet events: rinfo carries the sender', () => {
  for (const reader of ['native', 'dgram'] as const) {
    it(`over UDP (${reader} reader) and TCP`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'tallyd-sender-')), 'rec.jsonl');
      const d = await startDaemon(`{
        mgmt_port: 0, mgmt_address: '127.0.0.1', flushInterval: 60000, udpReader: '${reader}',
        servers: [ { server: 'udp', address: '127.0.0.1', port: 0 }, { server: 'tcp', address: '127.0.0.1', port: 0 } ],
        backends: [${JSON.stringify(RECORDER)}], recorder: { file: ${JSON.stringify(file)} },
      }`);
      try {
        const udpFrom = await sendUdp(d.udpPort, 'viaudp:1|c');
        const tcpFrom = await sendTcp(d.tcpPorts[0]!, 'viatcp:1|c\n');
        await waitFor(() => packets(file).length >= 2, 20_000, 'two packet events');
        const got = packets(file);
        expect(got.find((p) => p.msg === 'viaudp:1|c')?.sender).toEqual({ address: '127.0.0.1', family: 'IPv4', port: udpFrom });
        expect(got.find((p) => p.msg.startsWith('viatcp:1|c'))?.sender).toEqual({ address: '127.0.0.1', family: 'IPv4', port: tcpFrom });
      } finally {
        await d.stop();
      }
    }, 60_000);
  }
});
