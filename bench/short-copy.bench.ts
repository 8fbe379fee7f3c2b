/**
 * The proxy router's copy of a line into a node's datagram (src/proxy/router.ts, SHORT_COPY): a byte
 * loop against Buffer#copy, per line length, in ns per line (CPU time, median of alternated rounds).
 *
 *   npm run build && node dist/bench/short-copy.bench.js [--rounds 9]
 */
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '9' } } });
const rounds = Number(args.rounds);
const LINES = 2_000_000;
/** Results kept alive so the work is not optimised away. */
let sink = 0;

function cpuNs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** `LINES` lines of `len` bytes from a 64 KiB source into a 1,432-byte stage, as the router appends them. */
function run(len: number, loop: boolean): number {
  const src = Buffer.alloc(64 * 1024, 0x61);
  const stage = Buffer.alloc(1432);
  let f = 0;
  let ls = 0;
  for (let n = 0; n < LINES; n++) {
    if (f + 1 + len > stage.length) {
      sink += stage[f - 1]!;
      f = 0;
    }
    if (ls + len > src.length) ls = 0;
    const le = ls + len;
    if (f !== 0) stage[f++] = 0x0a;
    if (loop) {
      for (let k = ls; k < le; k++) stage[f++] = src[k]!;
    } else {
      src.copy(stage, f, ls, le);
      f += len;
    }
    ls = le + 1;
  }
  return f;
}

console.log(`short-copy bench (node ${process.version}): ns per line, median of ${rounds} rounds (CPU time)`);
for (const len of [16, 32, 48, 64, 128]) {
  const t = { loop: [] as number[], copy: [] as number[] };
  for (let r = -1; r < rounds; r++) {
    for (const which of ['loop', 'copy'] as const) {
      const c = process.cpuUsage();
      sink += run(len, which === 'loop');
      if (r >= 0) t[which].push(cpuNs(c) / LINES);
    }
  }
  const l = median(t.loop);
  const c = median(t.copy);
  console.log(
    `${String(len).padStart(3)} bytes  loop ${l.toFixed(1).padStart(6)}  Buffer.copy ${c.toFixed(1).padStart(6)}  ${l < c ? 'loop' : 'copy'} wins`,
  );
}
if (sink === -1) console.log(sink);
