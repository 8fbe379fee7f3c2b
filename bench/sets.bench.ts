/**
 * Memory of a set at its bound (setMaxMembers): RSS per set filled to the bound, in-process, for
 * members of typical length (a 16-byte user id) and of the longest length allowed (maxKeyLength), and
 * what past-the-bound lines cost (they are dropped and counted, so RSS must not move).
 *
 *   npm run build && node dist/bench/sets.bench.js [--members 100000] [--sets 4] [--long-bytes 2048]
 *
 * Members go through the real path: parsePacket → Aggregator.sample (addSetMember).
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Aggregator } from '../src/aggregator/aggregator.js';
import { DEFAULT_MAX_KEY_LENGTH, DEFAULT_SET_MAX_MEMBERS } from '../src/config/defaults.js';
import { validateConfig } from '../src/config/index.js';
import { parsePacket } from '../src/parser/scanner.js';
import { Sample } from '../src/parser/types.js';

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: String(DEFAULT_SET_MAX_MEMBERS) },
    sets: { type: 'string', default: '4' },
    'long-bytes': { type: 'string', default: String(DEFAULT_MAX_KEY_LENGTH) },
  },
});
const bound = Number(args.members);
const nSets = Number(args.sets);
const longBytes = Number(args['long-bytes']);

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;
function rss(): number {
  gcFn();
  gcFn();
  return process.memoryUsage().rss;
}

let keep = 0;
const sample = new Sample();

/** Fills `nSets` sets to the bound with members of `memberBytes` bytes, then sends as many again (dropped). */
function measure(memberBytes: number): { perSet: number; perMember: number; pastBound: number; dropped: number } {
  const agg = new Aggregator({
    config: {
      ...validateConfig({}).config,
      servers: [],
      backends: [],
      setMaxMembers: bound,
      maxKeyLength: Math.max(DEFAULT_MAX_KEY_LENGTH, memberBytes),
    },
  });
  const send = (set: number, from: number, to: number): void => {
    let text = '';
    for (let i = from; i < to; i++) {
      const id = `u${i}-`;
      text += `bench.set${set}:${id.padEnd(memberBytes, 'x')}|s\n`;
      if (text.length > 60_000) {
        const b = Buffer.from(text);
        agg.countPacket(parsePacket(b, 0, b.length, agg, sample));
        text = '';
      }
    }
    const b = Buffer.from(text);
    agg.countPacket(parsePacket(b, 0, b.length, agg, sample));
  };
  const before = rss();
  for (let s = 0; s < nSets; s++) send(s, 0, bound);
  const full = rss();
  for (let s = 0; s < nSets; s++) send(s, bound, 2 * bound);
  const past = rss();
  const snap = agg.flush(10_000);
  keep += snap.sets.length;
  let dropped = 0;
  for (const c of snap.counters.toArray()) if (c.key.id === 'statsd.set_members_dropped') dropped = c.count;
  return { perSet: (full - before) / nSets, perMember: (full - before) / nSets / bound, pastBound: past - full, dropped };
}

const mib = (b: number): string => (b / 1048576).toFixed(1) + ' MiB';
console.log(`setMaxMembers ${bound}, ${nSets} sets filled to it, then ${bound} more members each (past the bound)`);
for (const bytes of [16, longBytes]) {
  const r = measure(bytes);
  console.log(
    `members of ${String(bytes).padStart(5)} B: RSS per set at the bound ${mib(r.perSet)} (${r.perMember.toFixed(0)} B per member); ` +
      `RSS change past the bound ${mib(r.pastBound)}; set_members_dropped ${r.dropped} (expected ${nSets * bound})`,
  );
}
if (keep < 0) console.log(keep);
