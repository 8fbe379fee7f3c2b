/** The build-is-current check run before the tests (test/global-setup.ts), on a scratch tree. */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleSources } from '../global-setup.js';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'tallyd-stale-'));
  mkdirSync(join(root, 'src', 'a'), { recursive: true });
  mkdirSync(join(root, 'dist', 'src', 'a'), { recursive: true });
  for (const f of ['main', 'a/b']) {
    writeFileSync(join(root, 'src', f + '.ts'), 'export {};\n');
    writeFileSync(join(root, 'dist', 'src', f + '.js'), 'export {};\n');
    utimesSync(join(root, 'src', f + '.ts'), 1000, 1000);
    utimesSync(join(root, 'dist', 'src', f + '.js'), 2000, 2000);
  }
  writeFileSync(join(root, 'src', 'a', 'types.d.ts'), 'export {};\n');
  return root;
}

describe('staleSources', () => {
  it('is empty when every source has an output written after it (declaration files have none)', () => {
    expect(staleSources(tree())).toEqual([]);
  });

  it('names a source edited after its output was written', () => {
    const root = tree();
    utimesSync(join(root, 'src', 'a', 'b.ts'), 3000, 3000);
    expect(staleSources(root)).toEqual([join('src', 'a', 'b.ts')]);
  });

  it('names a source that has no output yet', () => {
    const root = tree();
    writeFileSync(join(root, 'src', 'new.ts'), 'export {};\n');
    expect(staleSources(root)).toEqual([join('src', 'new.ts')]);
  });
});
