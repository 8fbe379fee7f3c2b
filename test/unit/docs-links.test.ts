/**
 * The README and docs/*.md cannot point nowhere: every relative link resolves to a file of the
 * repository, and a `#anchor` to a heading of its target (GitHub's slugs). The README's contents
 * list names every section, and its quick start keeps the commands CI and a new user run.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

/** The text outside fenced code blocks and inline code (where a `[x](y)` is not a link). */
function prose(md: string): string {
  return md
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 0)
    .join('\n')
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchor: lower case, punctuation removed, spaces to `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown file's headings (a repeated heading gets -1, -2, … as on GitHub). */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of md
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 0)
    .join('\n')
    .matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

interface Link {
  file: string;
  target: string;
}

function links(file: string): Link[] {
  const out: Link[] = [];
  for (const m of prose(readFileSync(join(ROOT, file), 'utf8')).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    out.push({ file, target });
  }
  return out;
}

/** Why a link does not resolve, or null when it does. */
function broken(l: Link): string | null {
  const hash = l.target.indexOf('#');
  const path = hash < 0 ? l.target : l.target.slice(0, hash);
  const anchor = hash < 0 ? null : decodeURIComponent(l.target.slice(hash + 1));
  const abs = path === '' ? join(ROOT, l.file) : resolve(join(ROOT, dirname(l.file)), decodeURIComponent(path));
  if (relative(ROOT, abs).startsWith('..')) return 'outside the repository';
  if (!existsSync(abs)) return 'no such file';
  if (anchor === null) return null;
  if (statSync(abs).isDirectory() || !abs.endsWith('.md')) return 'an anchor into a file that is not markdown';
  return anchors(readFileSync(abs, 'utf8')).has(anchor) ? null : `no heading #${anchor} in ${relative(ROOT, abs)}`;
}

describe('links in README.md and docs/*.md', () => {
  it('finds the files and their links', () => {
    expect(FILES).toContain('README.md');
    expect(FILES).toContain(join('docs', 'reference.md'));
    expect(links('README.md').length).toBeGreaterThan(20);
  });

  it("the slugs are GitHub's", () => {
    expect(slug('Installing elsewhere: npm, Docker, systemd')).toBe('installing-elsewhere-npm-docker-systemd');
    expect(slug('Cluster proxy: `tallyd proxy`')).toBe('cluster-proxy-tallyd-proxy');
    expect(slug("Naming and types (statsd_exporter's defaults)")).toBe('naming-and-types-statsd_exporters-defaults');
    expect(slug('Conflicts never break /metrics')).toBe('conflicts-never-break-metrics');
    expect(anchors('# A\n## A\n```\n# not a heading\n```\n### A')).toEqual(new Set(['a', 'a-1', 'a-2']));
  });

  it('every relative link resolves, anchors included', () => {
    const bad = FILES.flatMap(links)
      .map((l) => ({ ...l, why: broken(l) }))
      .filter((l) => l.why !== null);
    expect(bad.map((l) => `${l.file}: (${l.target}) ${l.why}`)).toEqual([]);
  });

  it('a broken link or anchor is caught', () => {
    expect(broken({ file: 'README.md', target: 'docs/no-such-file.md' })).toBe('no such file');
    expect(broken({ file: 'README.md', target: '#no-such-heading' })).toMatch(/no heading/);
    expect(broken({ file: join('docs', 'reference.md'), target: '../README.md#quick-start' })).toBeNull();
  });

  it("the README's contents list every section, and its quick start the commands CI and a user run", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const body = readme
      .split(/^```.*$/m)
      .filter((_, i) => i % 2 === 0)
      .join('\n');
    const sections = [...body.matchAll(/^## +(.+)$/gm)].map((m) => slug(m[1]!)).filter((s) => s !== 'contents');
    const toc = readme.slice(readme.indexOf('## Contents'), readme.indexOf('\n## ', readme.indexOf('## Contents') + 1));
    expect(sections.filter((s) => !toc.includes(`](#${s})`))).toEqual([]);
    const quick = readme.slice(readme.indexOf('## Quick start'));
    const block = quick.slice(quick.indexOf('```'), quick.indexOf('```', quick.indexOf('```') + 3));
    for (const cmd of ['npm ci', 'node dist/src/main.js', 'npm test']) expect(block).toContain(cmd);
  });
});
