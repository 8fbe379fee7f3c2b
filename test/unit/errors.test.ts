/**
 * The error catalog (src/errors.ts): every code is stable in form, documented in docs/errors.md, and
 * raised somewhere in src/ (its class constructed outside errors.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';
import { ERROR_CODES, TallydError } from '../../src/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Each exported TallydError subclass with an instance's code (constructed with placeholder arguments). */
function classesByCode(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || value === TallydError || !(value.prototype instanceof TallydError)) continue;
    const Ctor = value as unknown as new (...args: unknown[]) => TallydError;
    // (every subclass takes up to two leading arguments before its message options)
    const e = new Ctor('x', 'x');
    out.set(e.code, name);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...sourceFiles(p));
    else if (ent.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('error catalog', () => {
  const codes = Object.values(ERROR_CODES);

  it('codes are unique and of the form TALLYD_ERR_<NAME>', () => {
    expect(new Set(codes).size).toBe(codes.length);
    for (const [key, code] of Object.entries(ERROR_CODES)) expect(code).toBe(`TALLYD_ERR_${key}`);
  });

  it('every code has one error class', () => {
    const byCode = classesByCode();
    expect([...byCode.keys()].sort()).toEqual([...codes].sort());
  });

  it('every code is documented in docs/errors.md, and the page names no other code', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const byCode = classesByCode();
    for (const code of codes) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, `docs/errors.md has no table row for ${code}`).toBeDefined();
      expect(row, `the row of ${code} names its class`).toContain(`\`${byCode.get(code)}\``);
    }
    const named = new Set(doc.match(/TALLYD_ERR_[A-Z_]+/g) ?? []);
    expect([...named].filter((c) => !codes.includes(c as (typeof codes)[number]))).toEqual([]);
  });

  it('every code is raised somewhere in src/ (its class constructed outside errors.ts)', () => {
    const sources = sourceFiles(join(ROOT, 'src'))
      .filter((f) => !f.endsWith(join('src', 'errors.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const [code, cls] of classesByCode()) {
      expect(sources.includes(`new ${cls}(`), `${code}: no \`new ${cls}(\` in src/`).toBe(true);
    }
  });
});
