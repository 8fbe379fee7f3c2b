/**
 * `log.backend: 'syslog'`: where the messages go by default (/dev/log where it exists, else UDP
 * 127.0.0.1:514), with the host's checks injected; the checks of `log.syslog.dgram`; and the local
 * form the datagram transport sends, from real pino-syslog output.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Reader } from '../../../src/config/reader.js';
import { defaultSyslogDgram, readLogConfig, type SyslogHost } from '../../../src/config/readers.js';
import { toLocalSyslog } from '../../../src/log/syslog-dgram.js';

const host = (devLog: boolean, dgramProblem?: string): SyslogHost => ({
  exists: (p) => devLog && p === '/dev/log',
  dgramProblem: () => dgramProblem,
});

function read(
  log: Record<string, unknown>,
  h: SyslogHost,
): { r: Reader; syslog: ReturnType<typeof readLogConfig>['syslog']; application: string } {
  const r = new Reader();
  const c = readLogConfig(r, { log }, h);
  return { r, syslog: c.syslog, application: c.application };
}

describe('the default syslog destination', () => {
  it('is /dev/log when it exists, else UDP 127.0.0.1:514', () => {
    expect(read({ backend: 'syslog' }, host(true)).syslog).toEqual({
      protocol: 'udp',
      host: '127.0.0.1',
      port: 514,
      socket: undefined,
      dgram: '/dev/log',
    });
    expect(read({ backend: 'syslog' }, host(false)).syslog).toEqual({
      protocol: 'udp',
      host: '127.0.0.1',
      port: 514,
      socket: undefined,
      dgram: undefined,
    });
    expect(defaultSyslogDgram({}, host(true))).toBe('/dev/log');
    expect(defaultSyslogDgram({}, host(false))).toBeUndefined();
  });

  it('stays UDP when the addon cannot load, and when any destination key is set', () => {
    expect(defaultSyslogDgram({}, host(true, 'not built'))).toBeUndefined();
    const noAddon = read({ backend: 'syslog' }, host(true, 'not built'));
    expect(noAddon.syslog).toMatchObject({ dgram: undefined, protocol: 'udp', host: '127.0.0.1', port: 514 });
    expect(noAddon.r.warnings).toEqual(['log.syslog: /dev/log exists but cannot be used (not built): logging to UDP 127.0.0.1:514']);
    expect(read({ backend: 'syslog' }, host(false, 'not built')).r.warnings).toEqual([]);
    for (const sys of [{ protocol: 'udp' }, { host: 'h' }, { port: 5514 }, { socket: '/run/s' }, { dgram: '/run/d' }]) {
      expect(defaultSyslogDgram(sys, host(true))).toBeUndefined();
    }
    expect(read({ backend: 'syslog', syslog: { port: 5514 } }, host(true)).syslog).toMatchObject({ port: 5514, dgram: undefined });
  });

  it('is not looked for when the logs go to stderr', () => {
    expect(read({}, host(true)).syslog.dgram).toBeUndefined();
    expect(read({ backend: 'stdout' }, host(true)).syslog.dgram).toBeUndefined();
  });
});

describe('log.syslog.dgram', () => {
  it('is taken as it is, with a warning when it does not exist yet', () => {
    const ok = read({ backend: 'syslog', syslog: { dgram: '/dev/log' } }, host(true));
    expect(ok.syslog.dgram).toBe('/dev/log');
    expect([...ok.r.problems, ...ok.r.warnings]).toEqual([]);
    const missing = read({ backend: 'syslog', syslog: { dgram: '/run/nope' } }, host(true));
    expect(missing.r.problems).toEqual([]);
    expect(missing.r.warnings).toEqual([
      "config key 'log.syslog.dgram': /run/nope does not exist (yet): log messages are lost until it does",
    ]);
  });

  it('is a problem naming the key when it cannot be used', () => {
    const problems = (syslog: Record<string, unknown>, h = host(true), extra: Record<string, unknown> = {}): string[] =>
      read({ backend: 'syslog', syslog, ...extra }, h).r.problems;
    expect(problems({ dgram: 5 })).toEqual(["config key 'log.syslog.dgram': expected a string, got 5"]);
    expect(problems({ dgram: `/${'x'.repeat(106)}` })[0]).toMatch(
      /^config key 'log.syslog.dgram': expected a Unix socket path of 1 to 106 bytes/,
    );
    expect(problems({ dgram: '/dev/log', socket: '/run/s' })).toEqual([
      "config key 'log.syslog.dgram': set with 'log.syslog.socket': a Unix datagram socket or a stream socket, not both",
    ]);
    expect(problems({ dgram: '/dev/log', port: 514 })[0]).toMatch(
      /^config key 'log.syslog.dgram': set with 'log.syslog.protocol\/host\/port'/,
    );
    expect(problems({ dgram: '/dev/log' }, host(true, 'the addon is not built'))).toEqual([
      "config key 'log.syslog.dgram': cannot be used: the addon is not built",
    ]);
    // an application name syslog cannot carry: accepted (the original's configs are), made valid, with a warning
    const app = read({ backend: 'syslog', application: 'my app' }, host(false));
    expect(app.r.problems).toEqual([]);
    expect(app.application).toBe('my_app');
    expect(app.r.warnings).toContain(
      `config key 'log.application': "my app" is not a syslog APP-NAME (1 to 48 printable ASCII characters, no spaces): sent as "my_app"`,
    );
  });
});

describe('the local form sent to a datagram socket', () => {
  // pino-syslog's own RFC 5424 builder, with the options src/log/index.ts gives it
  const require = createRequire(import.meta.url);
  const { buildOptions } = require('pino-syslog/lib/utils.js') as { buildOptions: (o: object) => object };
  const { messageBuilderFactory } = require('pino-syslog/lib/rfc5424.js') as {
    messageBuilderFactory: (o: object) => (rec: object) => string;
  };
  const build = messageBuilderFactory(buildOptions({ modern: true, appname: 'tallyd-x', facility: 16, tz: 'UTC' }));
  const rec = (level: number, time: number, msg: string): object => ({ level, time, pid: 4242, hostname: 'box', name: 'tallyd', msg });

  it('is <PRI>Mmm dd hh:mm:ss APP[PID]: MSG, the record as the message, no newline', () => {
    const five = build(rec(30, Date.UTC(2026, 0, 5, 7, 8, 9), 'tallyd is up'));
    expect(five).toMatch(/^<134>1 2026-01-05T07:08:09(Z|\+00:00) box tallyd-x 4242 - - \{/);
    const local = toLocalSyslog(five);
    expect(local).toBe(`<134>Jan  5 07:08:09 tallyd-x[4242]: ${five.slice(five.indexOf('{'))}`);
    expect(JSON.parse(local.slice(local.indexOf(': ') + 2))).toMatchObject({ msg: 'tallyd is up', level: 30 });
    expect(toLocalSyslog(build(rec(50, Date.UTC(2026, 11, 25, 23, 59, 0), 'x')))).toMatch(/^<131>Dec 25 23:59:00 tallyd-x\[4242\]: \{/);
    expect(toLocalSyslog(`${five}\n`)).toBe(local);
  });

  it('leaves what is not that form as it is', () => {
    for (const m of [
      '',
      'plain text',
      '<134>Jan  5 07:08:09 app[1]: msg',
      '<134>1 2026-01-05T07:08:09Z box app 1 - [sd x="y"] msg',
      '<134>1 bad',
    ]) {
      expect(toLocalSyslog(m)).toBe(m);
    }
  });
});
