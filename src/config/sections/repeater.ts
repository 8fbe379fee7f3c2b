/**
 * The repeater backend's keys: its targets (`repeater[]`), protocol and queue.
 */
import { DEFAULT_REPEATER_PROTOCOL, DEFAULT_REPEATER_QUEUE_BYTES } from '../defaults.js';
import { type KeySchema, type SectionSchema, seeSection } from './types.js';

export const REPEATER_TARGET_SECTION: SectionSchema = {
  prefix: 'repeater[].',
  title: '`repeater[]`',
  anchor: 'repeater',
  keys: [
    {
      key: 'host',
      check: { kind: 'custom' },
      type: 'string',
      defaultDoc: '—',
      reload: 'backends',
      doc: 'target host (needs `repeater` in `backends`)',
    },
    { key: 'port', check: { kind: 'custom' }, type: 'int 1..65535', defaultDoc: '—', reload: 'backends', doc: 'target port' },
  ],
};

/** The top level's repeater keys. */
export const REPEATER_TOP_KEYS: readonly KeySchema[] = [
  {
    key: 'repeater',
    field: 'repeater',
    check: { kind: 'custom' },
    def: [],
    type: 'list',
    reload: 'backends',
    doc: `targets of the repeater backend, ${seeSection(REPEATER_TARGET_SECTION)}`,
  },
  {
    key: 'repeaterProtocol',
    field: 'repeaterProtocol',
    check: { kind: 'oneOf', values: ['udp4', 'udp6', 'tcp'] },
    def: DEFAULT_REPEATER_PROTOCOL,
    type: '`udp4` \\| `udp6` \\| `tcp`',
    reload: 'backends',
    doc: 'how the repeater sends',
  },
  {
    key: 'repeaterQueueBytes',
    field: 'repeaterQueueBytes',
    check: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, expected: 'a non-negative integer (bytes)' },
    def: DEFAULT_REPEATER_QUEUE_BYTES,
    type: 'bytes',
    reload: 'backends',
    doc: 'tallyd: with `tcp`, bytes kept per target while it is down; past it the oldest are dropped, counted',
  },
];
