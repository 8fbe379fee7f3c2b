/**
 * A real Unix datagram socket for the syslog tests, bound by python3 (Node cannot bind one): each
 * datagram it reads, in order, in `got`. Paused, it reads nothing until {@link DgramReceiver.read}, so
 * its queue (net.unix.max_dgram_qlen datagrams) fills.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { waitFor } from './harness.js';

// binds, says "ready", (paused: waits for a line on stdin,) then prints each datagram as a JSON string
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
if sys.argv[2] == "paused":
    sys.stdin.readline()
while True:
    print(json.dumps(s.recv(262144).decode("utf-8", "replace")), flush=True)
`;

export interface DgramReceiver {
  readonly proc: ChildProcess;
  readonly got: string[];
  /** A paused receiver starts reading. */
  read(): void;
  /** Kills it and removes its socket file. */
  stop(): Promise<void>;
}

export async function dgramReceiver(path: string, opts: { paused?: boolean } = {}): Promise<DgramReceiver> {
  const proc = spawn('python3', ['-c', RECEIVER, path, opts.paused ? 'paused' : 'reading'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const got: string[] = [];
  let ready = false;
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') ready = true;
      else got.push(JSON.parse(line) as string);
    }
  });
  await waitFor(() => ready, 10_000, `python3 bound at ${path}`);
  return {
    proc,
    got,
    read: () => proc.stdin!.write('go\n'),
    stop: async () => {
      proc.kill('SIGKILL');
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
      rmSync(path, { force: true });
    },
  };
}
