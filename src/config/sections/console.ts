/**
 * The console backend's `console` section.
 */
import { DEFAULT_CONSOLE_PRETTYPRINT } from '../defaults.js';
import { type KeySchema, type SectionSchema, seeSection } from './types.js';

export const CONSOLE_SECTION: SectionSchema = {
  prefix: 'console.',
  title: '`console`',
  anchor: 'console',
  keys: [
    {
      key: 'prettyprint',
      check: { kind: 'bool' },
      def: DEFAULT_CONSOLE_PRETTYPRINT,
      type: 'bool',
      reload: 'backends',
      doc: "indent the console backend's JSON",
    },
  ],
};

/** The top level's `console` key. */
export const CONSOLE_TOP_KEYS: readonly KeySchema[] = [
  {
    key: 'console',
    field: 'console',
    check: { kind: 'section', section: CONSOLE_SECTION },
    type: 'object',
    defaultDoc: '—',
    reload: 'backends',
    doc: `the console backend's section, ${seeSection(CONSOLE_SECTION)}`,
  },
];
