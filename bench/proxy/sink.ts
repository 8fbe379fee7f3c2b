/**
 * The proxy bench's statsd nodes, in their own process: N UDP sockets that count the lines they
 * receive, and N admin ports answering `health: up`. Prints `{"nodes":[{port,adminport}...]}` once
 * up; each line on stdin answers `{"lines":N,"datagrams":M}` on stdout.
 *
 *   node dist/bench/proxy/sink.js N
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createInterface } from 'node:readline';

const n = Number(process.argv[2] ?? 3);
let lines = 0;
let datagrams = 0;

function count(msg: Buffer): void {
  datagrams++;
  let from = 0;
  let c = 0;
  for (;;) {
    const nl = msg.indexOf(10, from);
    if (nl < 0) break;
    if (nl > from) c++;
    from = nl + 1;
  }
  if (from < msg.length) c++;
  lines += c;
}

const nodes: Array<{ port: number; adminport: number }> = [];
for (let i = 0; i < n; i++) {
  const s = dgram.createSocket('udp4');
  s.on('message', count);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    s.setRecvBufferSize(32 * 1024 * 1024);
  } catch {
    // the kernel caps it at rmem_max
  }
  const admin = net.createServer((c) => {
    c.on('data', () => c.write('health: up\n'));
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', () => r()));
  nodes.push({ port: s.address().port, adminport: (admin.address() as net.AddressInfo).port });
}
process.stdout.write(JSON.stringify({ nodes }) + '\n');
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify({ lines, datagrams }) + '\n'));
process.stdin.on('end', () => process.exit(0));
