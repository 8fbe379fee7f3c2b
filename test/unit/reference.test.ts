/**
 * docs/reference.md cannot drift from the code: every config key (top level and each section), CLI
 * flag, self-metric and admin command the code knows appears in it, and every key it lists is one the
 * code knows.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type AdminContext, ERROR_TEXT, HELP_TEXT, runCommand } from '../../src/admin/commands.js';
import { PROMETHEUS_KEYS } from '../../src/backends/prometheus/index.js';
import { validateBackendSections } from '../../src/backends/registry.js';
import { cliOptionFlags } from '../../src/cli/program.js';
import { buildConfig, readConfigFile } from '../../src/config/load.js';
import { GENERATED_BEGIN, GENERATED_END, renderConfigReference, withGeneratedPart } from '../../src/config/reference.js';
import {
  CONSOLE_KEYS,
  GRAPHITE_KEYS,
  HISTOGRAM_KEYS,
  KEY_FLUSH_KEYS,
  KNOWN_KEYS,
  LOG_KEYS,
  REPEATER_TARGET_KEYS,
  SERVER_KEYS,
  STATUS_PAGE_KEYS,
  SYSLOG_KEYS,
} from '../../src/config/validate.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'reference.md'), 'utf8');
/** Names written as code in a table's first column: `| \`a\`, \`b\` | …`. */
function documented(): Set<string> {
  const out = new Set<string>();
  for (const line of doc.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const first = line.slice(1, line.indexOf('|', 1));
    for (const m of first.matchAll(/`([^`]+)`/g)) out.add(m[1]!);
  }
  return out;
}
const names = documented();

/** Every config key the code knows, with its section path. */
function codeKeys(): string[] {
  const sections: Array<[string, ReadonlySet<string>]> = [
    ['servers[].', SERVER_KEYS],
    ['graphite.', GRAPHITE_KEYS],
    ['prometheus.', PROMETHEUS_KEYS],
    ['statusPage.', STATUS_PAGE_KEYS],
    ['keyFlush.', KEY_FLUSH_KEYS],
    ['log.', LOG_KEYS],
    ['log.syslog.', SYSLOG_KEYS],
    ['histogram[].', HISTOGRAM_KEYS],
    ['repeater[].', REPEATER_TARGET_KEYS],
    ['console.', CONSOLE_KEYS],
  ];
  const keys = [...KNOWN_KEYS];
  for (const [prefix, set] of sections) for (const k of set) keys.push(prefix + k);
  return keys;
}

/** tallyd_* metric names declared in the Prometheus self-metrics module. */
function promSelfMetrics(): string[] {
  const src = readFileSync(join(ROOT, 'src', 'backends', 'prometheus', 'selfmetrics.ts'), 'utf8');
  return [...new Set([...src.matchAll(/'(tallyd_[a-z_]+)'/g)].map((m) => m[1]!))].filter((n) => n !== 'tallyd_');
}

describe('docs/reference.md', () => {
  it('holds the configuration keys exactly as generated from the config schema (npm run docs:reference writes them)', () => {
    const begin = doc.indexOf(GENERATED_BEGIN);
    const end = doc.indexOf(GENERATED_END);
    expect(begin, "the generated part's markers").toBeGreaterThan(-1);
    expect(
      doc.slice(begin, end + GENERATED_END.length),
      'docs/reference.md differs from src/config/schema.ts: run npm run docs:reference',
    ).toBe(renderConfigReference());
  });

  it('the generator replaces only its part of the page', () => {
    const page = `# t\n\nbefore\n\n${GENERATED_BEGIN}\nold\n${GENERATED_END}\n\nafter\n`;
    expect(withGeneratedPart(page, 'NEW')).toBe('# t\n\nbefore\n\nNEW\n\nafter\n');
    expect(() => withGeneratedPart('# no markers', 'NEW')).toThrow(/markers/);
  });

  it('lists every config key, top level and in each section', () => {
    const missing = codeKeys().filter((k) => !names.has(k));
    expect(missing, `keys missing from docs/reference.md`).toEqual([]);
  });

  it('lists no config key the code does not know', () => {
    const known = new Set(codeKeys());
    const configRows = doc.slice(doc.indexOf('## Configuration keys'), doc.indexOf('## Command-line flags'));
    const listed = new Set<string>();
    for (const line of configRows.split('\n')) {
      if (!line.startsWith('| `')) continue;
      for (const m of line.slice(1, line.indexOf('|', 1)).matchAll(/`([^`]+)`/g)) listed.add(m[1]!);
    }
    expect([...listed].filter((k) => !known.has(k))).toEqual([]);
  });

  it('lists every command-line flag', () => {
    const flags = cliOptionFlags();
    expect(flags).toContain('--log-format');
    expect(flags.filter((f) => !names.has(f))).toEqual([]);
  });

  it('lists every Prometheus self-metric', () => {
    const metrics = promSelfMetrics();
    expect(metrics.length).toBeGreaterThan(10);
    expect(metrics.filter((m) => !names.has(m))).toEqual([]);
    // and no tallyd_* name that the code does not declare
    expect([...names].filter((n) => n.startsWith('tallyd_') && !metrics.includes(n))).toEqual([]);
  });

  it('lists Graphite self-metrics that the code emits', () => {
    const src = [
      'src/aggregator/aggregator.ts',
      'src/backends/graphite/format.ts',
      'src/pipeline/pipeline.ts',
      'src/selfmetrics/index.ts',
      'src/pipeline/runtime.ts',
      'src/backends/graphite/index.ts',
      'src/parser/types.ts',
    ]
      .map((f) => readFileSync(join(ROOT, f), 'utf8'))
      .join('\n');
    const graphite = [...names].filter((n) => n.startsWith('<prefixStats>.'));
    expect(graphite.length).toBeGreaterThan(10);
    // each documented name's last part is spelled somewhere in the code that emits it
    expect(graphite.filter((n) => !src.includes(n.slice(n.lastIndexOf('.') + 1)))).toEqual([]);
  });

  it('lists every admin command, each of which the admin interface answers', () => {
    const commands = HELP_TEXT.slice(HELP_TEXT.indexOf(':') + 1)
      .split(',')
      .map((c) => c.trim())
      .concat('help');
    expect(commands.filter((c) => !names.has(c))).toEqual([]);
    const ctx = new Proxy({}, { get: () => () => [] }) as unknown as AdminContext;
    for (const c of commands) {
      let out: unknown;
      try {
        out = runCommand(c, ctx, 0);
      } catch {
        out = undefined; // the stub context cannot answer everything; an unknown command never gets here
      }
      expect(out === undefined || (out as { output?: unknown }).output !== ERROR_TEXT, c).toBe(true);
    }
    expect((runCommand('nosuch', ctx, 0) as { output: string }).output).toBe(ERROR_TEXT);
  });
});

/**
 * Keys set twice in one object of a config file (JSON5 and JSON.parse keep the last one silently).
 * A small scanner: comments and strings skipped, a stack of the objects ({ } holds a key set, [ ] none).
 */
function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  const keyAt = (name: string, end: number): void => {
    let j = end;
    while (/\s/.test(text[j] ?? '')) j++;
    const top = stack[stack.length - 1];
    if (text[j] !== ':' || !top) return;
    if (top.has(name)) dups.push(name);
    top.add(name);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') i = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
    else if (c === '/' && text[i + 1] === '*') i = text.indexOf('*/', i + 2) + 2;
    else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      keyAt(text.slice(i + 1, j), j + 1);
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[\w$]+/.exec(text.slice(i))![0];
      keyAt(m, i + m.length);
      i += m.length;
    } else {
      if (c === '{') stack.push(new Set());
      else if (c === '[') stack.push(null);
      else if (c === '}' || c === ']') stack.pop();
      i++;
    }
  }
  return dups;
}

describe('config/example.js and config/example.json', () => {
  const js = readFileSync(join(ROOT, 'config', 'example.js'), 'utf8');

  it('sets no key twice in one object (a parser keeps the last one silently)', () => {
    expect(duplicateKeys("{ a: 1, /* a: */ b: { a: 2 }, 'c': [{ a: 3 }, { a: 4 }], // a:\n d: 'a:' }")).toEqual([]);
    expect(duplicateKeys('{ "a": 1, b: { c: 1, c: 2 }, a: 3 }')).toEqual(['c', 'a']);
    for (const name of ['example.js', 'example.json', 'default.js', 'docker.js']) {
      expect(duplicateKeys(readFileSync(join(ROOT, 'config', name), 'utf8')), name).toEqual([]);
    }
  });

  it('example.js names every config key (keys that exclude each other, e.g. servers, commented out)', () => {
    const missing = codeKeys().filter((k) => {
      const last = k.slice(k.lastIndexOf('.') + 1);
      return !new RegExp(`(^|[\\s{,/])${last.replace(/[[\]]/g, '\\$&')}\\s*:`, 'm').test(js);
    });
    expect(missing).toEqual([]);
  });

  it('example.json holds the same values as example.js (every key example.js sets)', () => {
    const fromJs = readConfigFile(join(ROOT, 'config', 'example.js'));
    const fromJson = readConfigFile(join(ROOT, 'config', 'example.json'));
    expect(fromJson).toEqual(fromJs);
  });

  it('both validate without warnings, every backend section used', () => {
    for (const name of ['example.js', 'example.json']) {
      const file = join(ROOT, 'config', name);
      const { warnings } = buildConfig(readConfigFile(file), {}, file, { env: {}, hostname: 'web01.example.com' }, validateBackendSections);
      expect(warnings, name).toEqual([]);
    }
  });
});

describe('the README and contrib/ name what the code knows', () => {
  it("the systemd unit's comments name only config keys tallyd reads", () => {
    const unit = readFileSync(join(ROOT, 'contrib', 'systemd', 'tallyd.service'), 'utf8');
    const comments = unit
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .join('\n');
    // camelCase words (stopDrainMs, udpRecvBuffer) in the comments are config keys
    const words = [...comments.matchAll(/\b[a-z]+[A-Z][A-Za-z]*\b/g)].map((m) => m[0]);
    expect(words.length).toBeGreaterThan(0);
    expect(words.filter((w) => !KNOWN_KEYS.has(w))).toEqual([]);
  });

  it("the README's command-line summary names every flag", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('### Exit codes'));
    expect(cliOptionFlags().filter((f) => !new RegExp(`(^|[\\s,])${f}\\b`, 'm').test(section))).toEqual([]);
  });
});

describe('the differences from the original', () => {
  /** The bullets of a markdown section (a bullet and its continuation lines joined). */
  function bullets(md: string, from: string, to?: string): string[] {
    const start = md.indexOf(from);
    const body = md.slice(start, to === undefined ? undefined : md.indexOf(to, start));
    return body
      .split(/\n(?=- )/)
      .filter((b) => b.startsWith('- '))
      .map((b) => b.replace(/\s*\n\s*/g, ' '));
  }
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const detail = readFileSync(join(ROOT, 'docs', 'differences.md'), 'utf8');

  it('list only what differs: no bullet says tallyd does as the original does', () => {
    const lists = [...bullets(readme, '## Differences from the original', '## More documentation'), ...bullets(detail, '# Differences')];
    expect(lists.length).toBeGreaterThan(20);
    expect(lists.filter((b) => /\bas (in )?the original('s)?\b/i.test(b))).toEqual([]);
  });
});
