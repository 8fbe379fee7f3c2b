/**
 * docs/reference.md's "Configuration keys" part, generated from the config schema (./schema.ts):
 * one table per section, each key with its type, default, reload effect and meaning. The rest of the
 * page (flags, self-metrics, admin commands) is written by hand. test/unit/reference.test.ts fails
 * when the page and the schema differ; `npm run docs:reference` writes the page again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type KeySchema, type ReloadEffect, SECTIONS } from './schema.js';

export const GENERATED_BEGIN =
  '<!-- BEGIN configuration keys: generated from src/config/schema.ts by `npm run docs:reference`; edit the schema, not this -->';
export const GENERATED_END = '<!-- END configuration keys -->';

const RELOAD_TEXT: Readonly<Record<ReloadEffect, string>> = {
  none: 'applies at once; nothing is rebuilt',
  pipeline:
    'applied in place by the running daemon (aggregation from the next flush, the flush timer, listeners, the admin interface, the status page); backends are kept',
  backends:
    'the backends are rebuilt (Prometheus takes its section in place, keeping its series; a replaced Graphite backend still delivers its queue)',
  restart: 'takes effect at the next start',
};

/** The default as the reference writes it: numbers and booleans plain, strings and lists as code. */
function defaultText(k: KeySchema): string {
  if (k.defaultDoc !== undefined) return k.defaultDoc;
  const d = k.def;
  if (d === undefined) return '—';
  if (typeof d === 'number' || typeof d === 'boolean') return String(d);
  if (typeof d === 'string') return d === '' ? "`''`" : `\`${d}\``;
  return `\`${JSON.stringify(d)}\``;
}

/** The generated part, from its first marker to its last, without a trailing newline. */
export function renderConfigReference(): string {
  const out: string[] = [GENERATED_BEGIN, '## Configuration keys', ''];
  out.push(
    'The reload column says what a reload (SIGHUP, or a change of the file with `automaticConfigReload`) does when the key changes:',
  );
  out.push('');
  for (const [effect, text] of Object.entries(RELOAD_TEXT)) out.push(`- *${effect}*: ${text}`);
  for (const s of SECTIONS) {
    out.push('', `### ${s.title}`, '');
    if (s.intro !== undefined) out.push(s.intro, '');
    out.push('| key | type | default | reload | meaning |', '|---|---|---|---|---|');
    for (const k of s.keys) out.push(`| \`${s.prefix}${k.key}\` | ${k.type} | ${defaultText(k)} | ${k.reload} | ${k.doc} |`);
  }
  out.push('', GENERATED_END);
  return out.join('\n');
}

/** The page with its generated part replaced by `generated`; throws when the markers are missing. */
export function withGeneratedPart(page: string, generated: string): string {
  const begin = page.indexOf(GENERATED_BEGIN);
  const end = page.indexOf(GENERATED_END);
  if (begin === -1 || end === -1 || end < begin)
    throw new Error(`docs/reference.md: the markers of the generated part are missing (${GENERATED_BEGIN} ... ${GENERATED_END})`);
  return page.slice(0, begin) + generated + page.slice(end + GENERATED_END.length);
}

/** docs/reference.md, from the package root (src/config/ or dist/src/config/). */
export function referencePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      readFileSync(join(dir, 'package.json'));
      return join(dir, 'docs', 'reference.md');
    } catch {
      // not the root yet
    }
  }
  throw new Error('cannot find the package root (package.json) above src/config');
}

// `node dist/src/config/reference.js [--check]`: write docs/reference.md's generated part (or only say whether it is current)
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = referencePath();
  const page = readFileSync(path, 'utf8');
  const next = withGeneratedPart(page, renderConfigReference());
  if (process.argv.includes('--check')) {
    if (next !== page) {
      console.error(`${path} differs from the config schema: run npm run docs:reference`);
      process.exitCode = 1;
    }
  } else if (next !== page) {
    writeFileSync(path, next);
    console.log(`${path}: configuration keys written from the schema`);
  } else {
    console.log(`${path}: already current`);
  }
}
