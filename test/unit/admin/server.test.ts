import { connect, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AdminContext, type CommandResult, HELP_TEXT, runCommand } from '../../../src/admin/commands.js';
import { type AdminServer, AdminStats, MAX_COMMAND_LINE, startAdminServer } from '../../../src/admin/server.js';
import { nextTurn } from '../../../src/pipeline/scheduler.js';

const NOW = () => Math.round(Date.now() / 1000);

function fakeContext() {
  const state = {
    health: 'up' as 'up' | 'down',
    counters: { 'a.b': 5, 'a.c': 1, other: 2 } as Record<string, number>,
    timers: { t: [1, 2, 3] } as Record<string, number[]>,
    gauges: { g: 1.5 } as Record<string, number>,
    deleted: [] as Array<[string, string[]]>,
  };
  const ctx: AdminContext = {
    startupTime: NOW() - 100,
    yieldToIngest: nextTurn,
    messages: () => ({ last_msg_seen: NOW() - 3, bad_lines_seen: 7 }),
    backendStatus: () => [
      {
        name: 'graphite',
        lines: [
          ['last_flush', NOW() - 2],
          ['last_exception', 0],
          ['flush_time', 4],
          ['flush_length', 670],
        ],
      },
      {
        name: 'console',
        lines: [
          ['last_flush', NOW() - 1],
          ['mode', 'plain'],
        ],
      },
    ],
    dump: async (type) => Object.entries(state[type]),
    deleteKeys: async (type, patterns) => {
      state.deleted.push([type, patterns]);
      const map = state[type] as Record<string, unknown>;
      const out: string[] = [];
      for (const p of patterns) {
        const folder = p.endsWith('.*') ? p.slice(0, -1) : null;
        const hits = Object.keys(map).filter((k) => k === p || (folder !== null && k.startsWith(folder)));
        if (hits.length === 0) out.push(`metric ${p} not found`);
        for (const k of hits) {
          delete map[k];
          out.push(`deleted: ${k}`);
        }
      }
      return out;
    },
    getHealth: () => state.health,
    setHealth: (h) => {
      state.health = h;
    },
    configText: () => '\nport: 8125\ngraphite > legacyNamespace: true\n',
  };
  return { ctx, state };
}

/** A line-oriented test client: send text, read until `done(received)` or the connection closes. */
class Client {
  private data = '';
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.data += d;
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }
  static open(port: number): Promise<Client> {
    return new Promise((res, rej) => {
      const s = connect(port, '127.0.0.1', () => res(new Client(s)));
      s.once('error', rej);
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Sends `text` and resolves with everything received until `done` holds (then clears it). */
  async ask(text: string, done: (s: string) => boolean = (s) => s.endsWith('END\n\n'), timeoutMs = 2000): Promise<string> {
    if (text !== '') this.sock.write(text);
    const end = Date.now() + timeoutMs;
    while (!done(this.data) && !this.closed) {
      if (Date.now() > end) throw new Error(`no complete answer; got ${JSON.stringify(this.data)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const out = this.data;
    this.data = '';
    return out;
  }
}

let server: AdminServer;
let fake: ReturnType<typeof fakeContext>;
const clients: Client[] = [];

beforeEach(async () => {
  fake = fakeContext();
  server = await startAdminServer(fake.ctx, { address: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.sock.destroy();
  await server.close();
});

async function client(): Promise<Client> {
  const c = await Client.open(server.port);
  clients.push(c);
  return c;
}

describe('admin interface', () => {
  it('help', async () => {
    const c = await client();
    expect(await c.ask('help\n', (s) => s.endsWith('\n\n'))).toBe(
      'Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n',
    );
  });

  it('stats: uptime, messages, then each backend with last_* as seconds since', async () => {
    const c = await client();
    const out = await c.ask('stats\n');
    const lines = out.split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatch(/^uptime: (99|100|101)$/);
    expect(lines[1]).toMatch(/^messages\.last_msg_seen: [234]$/);
    expect(lines[2]).toBe('messages.bad_lines_seen: 7');
    expect(lines[3]).toMatch(/^graphite\.last_flush: [123]$/);
    expect(lines[4]).toBe(`graphite.last_exception: ${NOW()}`);
    expect(lines[5]).toBe('graphite.flush_time: 4');
    expect(lines[6]).toBe('graphite.flush_length: 670');
    expect(lines[7]).toMatch(/^console\.last_flush: [012]$/);
    expect(lines[8]).toBe('console.mode: plain');
    expect(lines.slice(9)).toEqual(['END', '', '']);
  });

  it('counters, timers, gauges: util.inspect of the live map, then END', async () => {
    const c = await client();
    expect(await c.ask('counters\n')).toBe(inspect({ 'a.b': 5, 'a.c': 1, other: 2 }) + '\nEND\n\n');
    expect(await c.ask('timers\n')).toBe('{ t: [ 1, 2, 3 ] }\nEND\n\n');
    expect(await c.ask('gauges\n')).toBe('{ g: 1.5 }\nEND\n\n');
  });

  it('delcounters / deltimers / delgauges with keys, folders and misses', async () => {
    const c = await client();
    expect(await c.ask('delcounters a.* nope other\n')).toBe('deleted: a.b\ndeleted: a.c\nmetric nope not found\ndeleted: other\nEND\n\n');
    expect(await c.ask('deltimers t\n')).toBe('deleted: t\nEND\n\n');
    expect(await c.ask('delgauges\n')).toBe('END\n\n');
    expect(fake.state.deleted).toEqual([
      ['counters', ['a.*', 'nope', 'other']],
      ['timers', ['t']],
    ]);
  });

  it('health shows, sets up/down (any case), ignores other words', async () => {
    const c = await client();
    const line = (s: string) => s.endsWith('\n');
    expect(await c.ask('health\n', line)).toBe('health: up\n');
    expect(await c.ask('health DOWN\n', line)).toBe('health: down\n');
    expect(fake.state.health).toBe('down');
    expect(await c.ask('health sideways\n', line)).toBe('health: down\n');
    expect(await c.ask('health up\n', line)).toBe('health: up\n');
  });

  it('config prints the config text', async () => {
    const c = await client();
    expect(await c.ask('config\n', (s) => s.endsWith('true\n'))).toBe('\nport: 8125\ngraphite > legacyNamespace: true\n');
  });

  it('unknown commands and blank lines answer ERROR; input is never evaluated', async () => {
    const c = await client();
    const line = (s: string) => s.endsWith('\n');
    expect(await c.ask('process.exit(1)\n', line)).toBe('ERROR\n');
    expect(await c.ask('STATS\n', line)).toBe('ERROR\n');
    expect(await c.ask('\n', line)).toBe('ERROR\n');
  });

  it('answers several commands in one chunk in order, buffers partial lines, accepts CRLF', async () => {
    const c = await client();
    const both = await c.ask('health\r\nhelp\r\nhea', (s) => s.endsWith('\n\n'));
    expect(both).toBe('health: up\n' + HELP_TEXT);
    expect(await c.ask('', () => false, 100).catch(() => 'nothing yet')).toBe('nothing yet');
    expect(await c.ask('lth\n', (s) => s.endsWith('\n'))).toBe('health: up\n');
  });

  it('quit closes the connection, ignoring what follows', async () => {
    const c = await client();
    const out = await c.ask('quit\nhelp\n', () => false);
    expect(out).toBe('');
    expect(c.closed).toBe(true);
  });

  it('closes the connection on a line over 64 KiB, and keeps serving others', async () => {
    const c = await client();
    const out = await c.ask('x'.repeat(MAX_COMMAND_LINE + 10), () => false);
    expect(out).toBe('');
    expect(c.closed).toBe(true);
    const d = await client();
    expect(await d.ask('health\n', (s) => s.endsWith('\n'))).toBe('health: up\n');
  });

  it('survives a client that resets the connection mid-answer', async () => {
    const c = await client();
    c.sock.write('counters\ncounters\n');
    c.sock.resetAndDestroy();
    const d = await client();
    expect(await d.ask('gauges\n')).toBe('{ g: 1.5 }\nEND\n\n');
  });
});

describe('runCommand', () => {
  it('is a pure function of the line, the context and the clock', () => {
    const { ctx } = fakeContext();
    const now = ctx.startupTime + 42;
    const r = runCommand('stats', ctx, now) as CommandResult;
    expect(r.close).toBe(false);
    expect(String(r.output).startsWith('uptime: 42\n')).toBe(true);
    expect(runCommand('quit', ctx, now)).toEqual({ output: '', close: true });
    expect((runCommand('  help  ', ctx, now) as CommandResult).output).toBe(HELP_TEXT);
  });
});

describe('admin connection limits', () => {
  it('past maxConnections a connection is closed at once (counted); the open ones keep answering', async () => {
    const stats = new AdminStats();
    const limited = await startAdminServer(
      fake.ctx,
      { address: '127.0.0.1', port: 0 },
      pino({ level: 'silent' }),
      { maxConnections: 2, idleTimeoutMs: 0 },
      stats,
    );
    try {
      const a = await Client.open(limited.port);
      const b = await Client.open(limited.port);
      clients.push(a, b);
      expect(await a.ask('health\n', (s) => s.endsWith('\n'))).toBe('health: up\n');
      const c = await Client.open(limited.port);
      clients.push(c);
      expect(await c.ask('health\n', () => false, 2000)).toBe('');
      expect(c.closed).toBe(true);
      expect(stats.refused).toBe(1);
      expect(await b.ask('health\n', (s) => s.endsWith('\n'))).toBe('health: up\n');
    } finally {
      await limited.close();
    }
  });

  it('an idle admin connection is closed after idleTimeoutMs', async () => {
    const stats = new AdminStats();
    const limited = await startAdminServer(
      fake.ctx,
      { address: '127.0.0.1', port: 0 },
      pino({ level: 'silent' }),
      { maxConnections: 5, idleTimeoutMs: 200 },
      stats,
    );
    try {
      const a = await Client.open(limited.port);
      clients.push(a);
      expect(await a.ask('health\n', (s) => s.endsWith('\n'))).toBe('health: up\n');
      expect(await a.ask('', () => false, 3000)).toBe('');
      expect(a.closed).toBe(true);
      expect(stats.idleTimeouts).toBe(1);
    } finally {
      await limited.close();
    }
  });

  it('a dump or delete answering asynchronously keeps the order of a connection’s answers', async () => {
    const c = await client();
    const out = await c.ask('counters\nhealth\ndelcounters other\nhealth\n', (s) => s.split('health: up\n').length === 3);
    expect(out).toBe(inspect({ 'a.b': 5, 'a.c': 1, other: 2 }) + '\nEND\n\nhealth: up\ndeleted: other\nEND\n\nhealth: up\n');
  });
});

describe('long answers', () => {
  it('a dump of 20,000 keys arrives whole, in chunks, as util.inspect prints it', async () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) many[`k.${i}`] = i;
    fake.state.counters = many;
    const c = await client();
    const out = await c.ask('counters\nhealth\n', (s) => s.endsWith('health: up\n'), 20_000);
    expect(out).toBe(inspect(many) + '\nEND\n\nhealth: up\n');
  });

  it('a delete of 20,000 keys answers every line, then END', async () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) many[`k.${i}`] = i;
    fake.state.counters = many;
    const c = await client();
    const out = await c.ask('delcounters k.*\n', undefined, 20_000);
    const lines = out.split('\n');
    expect(lines.filter((l) => l.startsWith('deleted: k.')).length).toBe(20_000);
    expect(lines.slice(-3)).toEqual(['END', '', '']);
  });
});

describe('admin idle timeout and slow commands', () => {
  it('a command that takes longer than idleTimeoutMs is answered; the connection closes once idle after it', async () => {
    const { ctx } = fakeContext();
    const slow: AdminContext = {
      ...ctx,
      dump: async () => {
        await new Promise((r) => setTimeout(r, 600));
        return [['k', 1]];
      },
    };
    const limited = await startAdminServer(slow, { address: '127.0.0.1', port: 0 }, pino({ level: 'silent' }), {
      maxConnections: 5,
      idleTimeoutMs: 200,
    });
    try {
      const a = await Client.open(limited.port);
      clients.push(a);
      expect(await a.ask('counters\n', undefined, 3000)).toBe('{ k: 1 }\nEND\n\n');
      expect(a.closed).toBe(false);
      expect(await a.ask('', () => false, 3000)).toBe('');
      expect(a.closed).toBe(true);
    } finally {
      await limited.close();
    }
  });
});
