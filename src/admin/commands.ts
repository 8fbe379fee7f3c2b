/**
 * The admin interface's commands (the original's lib/mgmt_console.js), as a pure function from one
 * command line to the text to answer. Nothing is evaluated: the first word picks the command, the
 * rest are plain arguments. The commands that walk the keys (dumps and deletes) answer a Promise:
 * they run in slices that yield to ingest, so one of them over a million keys never stalls the
 * UDP socket.
 */
import type { StatusLine } from '../backends/types.js';
import type { YieldToIngest } from '../pipeline/scheduler.js';
import { CHUNK_ENTRIES, formatEntriesSliced } from './format.js';

export type DumpType = 'counters' | 'timers' | 'gauges';

export interface AdminContext {
  /** unix s */
  startupTime: number;
  /** last_msg_seen: unix s of the last packet (startup time before any). */
  messages(): { last_msg_seen: number; bad_lines_seen: number; packets_received?: number; lines_received?: number };
  backendStatus(): Array<{ name: string; lines: StatusLine[] }>;
  /** The live keys of `type` and their values, in insertion order (built in slices). */
  dump(type: DumpType): Promise<ReadonlyArray<readonly [string, unknown]>>;
  /** Deletes the keys (or `folder.*`); resolves to the output lines (`deleted: K`, `metric K not found`), no END. */
  deleteKeys(type: DumpType, patterns: string[]): Promise<string[]>;
  getHealth(): 'up' | 'down';
  setHealth(h: 'up' | 'down'): void;
  /** The original's `config` output. */
  configText(): string;
  /** Gives the event loop back to ingest between the slices of a long answer (the pipeline's Scheduler). */
  readonly yieldToIngest: YieldToIngest;
}

export const HELP_TEXT = 'Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n';
export const END = 'END\n\n';
export const ERROR_TEXT = 'ERROR\n';

export interface CommandResult {
  /** Text to write (may be ''); a long answer comes as chunks, written one after the other. */
  readonly output: string | readonly string[];
  /** Close the connection after writing (quit). */
  readonly close: boolean;
}

const DELETE_TYPES: Readonly<Record<string, DumpType>> = {
  delcounters: 'counters',
  deltimers: 'timers',
  delgauges: 'gauges',
};

/** `name: value` with `last_*` shown as seconds since (the original's stat_writer). */
function statLine(group: string, stat: string, value: number | string, now: number): string {
  const shown = stat.startsWith('last_') && typeof value === 'number' ? now - value : value;
  return `${group}.${stat}: ${shown}\n`;
}

async function dumpText(ctx: AdminContext, type: DumpType): Promise<CommandResult> {
  const chunks = await formatEntriesSliced(await ctx.dump(type), ctx.yieldToIngest);
  chunks.push('\n' + END);
  return { output: chunks, close: false };
}

async function deleteText(ctx: AdminContext, type: DumpType, patterns: string[]): Promise<CommandResult> {
  const lines = await ctx.deleteKeys(type, patterns);
  const chunks: string[] = [];
  for (let i = 0; i < lines.length; i += CHUNK_ENTRIES) {
    let out = '';
    const end = Math.min(lines.length, i + CHUNK_ENTRIES);
    for (let j = i; j < end; j++) out += lines[j]!.endsWith('\n') ? lines[j]! : lines[j]! + '\n';
    chunks.push(out);
    if (end < lines.length) await ctx.yieldToIngest(); // (a chunk is ~1 ms: a million lines take ~1 s in all)
  }
  chunks.push(END);
  return { output: chunks, close: false };
}

/**
 * Answers one command line (without its line terminator). `nowSec`: unix seconds. The commands that
 * walk the keys answer a Promise.
 */
export function runCommand(line: string, ctx: AdminContext, nowSec: number): CommandResult | Promise<CommandResult> {
  const words = line
    .trim()
    .split(' ')
    .filter((w) => w !== '');
  const cmd = words.shift() ?? '';
  switch (cmd) {
    case 'help':
      return { output: HELP_TEXT, close: false };

    case 'stats': {
      let out = `uptime: ${nowSec - ctx.startupTime}\n`;
      const m = ctx.messages();
      out += statLine('messages', 'last_msg_seen', m.last_msg_seen, nowSec);
      out += statLine('messages', 'bad_lines_seen', m.bad_lines_seen, nowSec);
      // tallyd: what arrived since start (the original has no such line)
      if (m.packets_received !== undefined) out += statLine('messages', 'packets_received', m.packets_received, nowSec);
      if (m.lines_received !== undefined) out += statLine('messages', 'lines_received', m.lines_received, nowSec);
      for (const b of ctx.backendStatus()) {
        for (const [stat, value] of b.lines) out += statLine(b.name, stat, value, nowSec);
      }
      return { output: out + END, close: false };
    }

    case 'counters':
    case 'timers':
    case 'gauges':
      return dumpText(ctx, cmd);

    case 'delcounters':
    case 'deltimers':
    case 'delgauges':
      if (words.length === 0) return { output: END, close: false };
      return deleteText(ctx, DELETE_TYPES[cmd]!, words);

    case 'health': {
      const action = words[0]?.toLowerCase();
      if (action === 'up' || action === 'down') ctx.setHealth(action);
      return { output: `health: ${ctx.getHealth()}\n`, close: false };
    }

    case 'config':
      return { output: ctx.configText(), close: false };

    case 'quit':
      return { output: '', close: true };

    default:
      return { output: ERROR_TEXT, close: false };
  }
}
