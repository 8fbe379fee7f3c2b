/**
 * The baseline: a bare Node dgram receiver that only counts packets and lines, with the same
 * receive buffer as the daemon. It runs in its own process (forked), like the daemon, so both get a
 * core of their own and the comparison is fair. Counting lines scans for '\n' with indexOf, the
 * least any StatsD daemon must do per packet.
 *
 * As a child (forked with the argument `--child RECVBUF`): binds 127.0.0.1:0, sends
 * `{ type: 'ready', port, granted }`, answers `{ type: 'read' }` with `{ type: 'counts', packets, lines }`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sleep, stopChild, trackChild } from './proc.js';

interface ReadyMessage {
  type: 'ready';
  port: number;
  granted: number;
}
interface CountsMessage {
  type: 'counts';
  packets: number;
  lines: number;
}

export interface Counts {
  packets: number;
  lines: number;
}

export interface BareReceiver {
  readonly pid: number;
  readonly port: number;
  /** SO_RCVBUF as the kernel granted it (Linux reports twice the usable size). */
  readonly grantedRecvBuffer: number;
  counts(): Promise<Counts>;
  /** Wait until the counts stop moving (the socket buffer is drained); at most `maxMs`. */
  settledCounts(maxMs?: number): Promise<Counts>;
  stop(): Promise<void>;
}

function runChild(recvBuffer: number): void {
  const socket = dgram.createSocket('udp4');
  let packets = 0;
  let lines = 0;
  socket.on('message', (msg: Buffer) => {
    packets++;
    let n = 1;
    let i = msg.indexOf(10);
    while (i !== -1) {
      n++;
      i = msg.indexOf(10, i + 1);
    }
    lines += n;
  });
  socket.bind(0, '127.0.0.1', () => {
    try {
      socket.setRecvBufferSize(recvBuffer);
    } catch {
      // the kernel caps it at net.core.rmem_max; what was granted is reported below
    }
    process.send!({ type: 'ready', port: socket.address().port, granted: socket.getRecvBufferSize() } satisfies ReadyMessage);
  });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'read') process.send!({ type: 'counts', packets, lines } satisfies CountsMessage);
  });
  // Exit with the parent: the IPC channel closes when it goes.
  process.on('disconnect', () => process.exit(0));
}

/** Fork the bare receiver and wait until it listens. */
export async function startBareReceiver(recvBuffer: number): Promise<BareReceiver> {
  const child: ChildProcess = trackChild(
    fork(fileURLToPath(import.meta.url), ['--child', String(recvBuffer)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
  const ready = await new Promise<ReadyMessage>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('bare receiver did not start within 10 s')), 10_000);
    child.once('exit', (code) => rej(new Error(`bare receiver exited with ${code}`)));
    child.once('message', (m: ReadyMessage) => {
      clearTimeout(timer);
      res(m);
    });
  });
  const counts = (): Promise<Counts> =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('bare receiver did not answer within 5 s')), 5000);
      const onMsg = (m: CountsMessage): void => {
        if (m.type !== 'counts') return;
        clearTimeout(timer);
        child.off('message', onMsg);
        res({ packets: m.packets, lines: m.lines });
      };
      child.on('message', onMsg);
      child.send({ type: 'read' });
    });
  return {
    pid: child.pid!,
    port: ready.port,
    grantedRecvBuffer: ready.granted,
    counts,
    settledCounts: async (maxMs = 3000) => {
      const deadline = Date.now() + maxMs;
      let last = await counts();
      for (;;) {
        await sleep(100);
        const now = await counts();
        if (now.packets === last.packets || Date.now() > deadline) return now;
        last = now;
      }
    },
    stop: () => stopChild(child),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--child') {
  runChild(Number(process.argv[3]));
}
