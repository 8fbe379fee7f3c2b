/**
 * The datagram transport (src/log/syslog-dgram.ts) on a real Unix datagram socket bound by python3:
 * a receiver that does not read fills its queue (net.unix.max_dgram_qlen datagrams); what comes after
 * waits, bounded in bytes, and arrives in order once it reads again; past the bound it is dropped.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import syslogDgram from '../../../src/log/syslog-dgram.js';
import { unixDgramProblem } from '../../../src/log/unix-dgram.js';
import { type DgramReceiver, dgramReceiver } from '../../integration/dgram-receiver.js';
import { expectQuietFor, waitFor } from '../../integration/harness.js';

const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

async function pausedReceiver(path: string): Promise<DgramReceiver> {
  const rx = await dgramReceiver(path, { paused: true });
  procs.push(rx.proc);
  return rx;
}

const write = (w: Writable, s: string): Promise<void> => new Promise((r) => w.write(s, () => r()));
const N = 60;

describe.skipIf(unixDgramProblem() !== undefined)('the syslog datagram transport', () => {
  it('keeps what a full receiver cannot take yet, and sends it in order when it reads again', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tallyd-dgram-')), 's');
    const rx = await pausedReceiver(path);
    const out = syslogDgram({ path });
    for (let i = 0; i < N; i++) await write(out, `<134>1 2026-01-05T07:08:09Z h app 7 - - m${i}`);
    rx.read();
    await waitFor(() => rx.got.length >= N, 10_000, `${N} datagrams`);
    expect(rx.got).toEqual(Array.from({ length: N }, (_, i) => `<134>Jan  5 07:08:09 app[7]: m${i}`));
    out.destroy();
  }, 20_000);

  it('drops what comes past its bound, never waiting for the receiver', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tallyd-dgram-')), 's');
    const rx = await pausedReceiver(path);
    const out = syslogDgram({ path, maxQueuedBytes: 0 });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await write(out, `<134>1 2026-01-05T07:08:09Z h app 7 - - m${i}`);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(5000); // did not block on the full queue
    rx.read();
    // what the socket's queue took arrives, the first ones, in order; the rest was dropped
    await waitFor(() => rx.got.length > 0, 10_000, 'the queued datagrams');
    await expectQuietFor(300, () => expect(rx.got.length).toBeLessThan(N));
    expect(rx.got).toEqual(Array.from({ length: rx.got.length }, (_, i) => `<134>Jan  5 07:08:09 app[7]: m${i}`));
    out.destroy();
  }, 20_000);
});
