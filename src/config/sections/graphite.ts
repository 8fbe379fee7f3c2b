/**
 * The graphite backend's keys: the original's top-level `graphite*` keys and the `graphite` section.
 */
import {
  DEFAULT_GRAPHITE_GLOBAL_PREFIX,
  DEFAULT_GRAPHITE_GLOBAL_SUFFIX,
  DEFAULT_GRAPHITE_LEGACY_NAMESPACE,
  DEFAULT_GRAPHITE_PICKLE_PORT,
  DEFAULT_GRAPHITE_PORT,
  DEFAULT_GRAPHITE_PREFIX_COUNTER,
  DEFAULT_GRAPHITE_PREFIX_GAUGE,
  DEFAULT_GRAPHITE_PREFIX_SET,
  DEFAULT_GRAPHITE_PREFIX_TIMER,
  DEFAULT_GRAPHITE_QUEUE_BYTES,
  DEFAULT_GRAPHITE_TIMEOUT_MS,
} from '../defaults.js';
import { INT_MAX, type KeySchema, ms, type SectionSchema, seeSection } from './types.js';

export const GRAPHITE_SECTION: SectionSchema = {
  prefix: 'graphite.',
  title: '`graphite`',
  anchor: 'graphite',
  keys: [
    {
      key: 'legacyNamespace',
      check: { kind: 'bool' },
      def: DEFAULT_GRAPHITE_LEGACY_NAMESPACE,
      type: 'bool',
      reload: 'backends',
      doc: 'legacy names (`stats.KEY`, `stats_counts.KEY`)',
    },
    {
      key: 'globalPrefix',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_GLOBAL_PREFIX,
      type: 'string',
      reload: 'backends',
      doc: 'prefix of the new namespace',
    },
    {
      key: 'prefixCounter',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_PREFIX_COUNTER,
      type: 'string',
      reload: 'backends',
      doc: "counters' prefix (new namespace)",
    },
    {
      key: 'prefixTimer',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_PREFIX_TIMER,
      type: 'string',
      reload: 'backends',
      doc: "timers' prefix",
    },
    {
      key: 'prefixGauge',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_PREFIX_GAUGE,
      type: 'string',
      reload: 'backends',
      doc: "gauges' prefix",
    },
    { key: 'prefixSet', check: { kind: 'str' }, def: DEFAULT_GRAPHITE_PREFIX_SET, type: 'string', reload: 'backends', doc: "sets' prefix" },
    {
      key: 'globalSuffix',
      check: { kind: 'str' },
      def: DEFAULT_GRAPHITE_GLOBAL_SUFFIX,
      type: 'string',
      reload: 'backends',
      doc: 'appended to every name',
    },
    {
      key: 'timeoutMs',
      check: { kind: 'int', min: 1, max: INT_MAX, expected: ms('positive') },
      def: DEFAULT_GRAPHITE_TIMEOUT_MS,
      type: 'ms',
      reload: 'backends',
      doc: 'tallyd: connect + write timeout of one delivery',
    },
    {
      key: 'queueBytes',
      check: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, expected: 'a non-negative integer (bytes)' },
      def: DEFAULT_GRAPHITE_QUEUE_BYTES,
      type: 'bytes',
      reload: 'backends',
      doc: 'tallyd: flushes kept while Graphite is down; past it the oldest are dropped, counted',
    },
  ],
};

/** The top level's graphite keys. */
export const GRAPHITE_TOP_KEYS: readonly KeySchema[] = [
  {
    key: 'graphiteHost',
    field: 'graphite.host',
    check: { kind: 'optStr' },
    type: 'string',
    defaultDoc: 'unset',
    reload: 'backends',
    doc: 'Graphite plaintext receiver host; unset: nothing is sent to Graphite',
  },
  {
    key: 'graphitePort',
    field: 'graphite.port',
    check: { kind: 'port', allowZero: false },
    def: DEFAULT_GRAPHITE_PORT,
    type: 'int 1..65535',
    reload: 'backends',
    doc: 'its port',
  },
  {
    key: 'graphitePicklePort',
    field: 'graphite.picklePort',
    check: { kind: 'port', allowZero: false },
    def: DEFAULT_GRAPHITE_PICKLE_PORT,
    type: 'int 1..65535',
    reload: 'backends',
    doc: "carbon's pickle receiver port, used with `graphiteProtocol: 'pickle'`",
  },
  {
    key: 'graphiteProtocol',
    field: 'graphite.protocol',
    check: {
      kind: 'oneOf',
      values: ['text', 'pickle'],
      expected: "'text' (plaintext to graphitePort) or 'pickle' (to graphitePicklePort)",
    },
    def: 'text',
    type: '`text` \\| `pickle`',
    reload: 'backends',
    doc: "Graphite plaintext, or carbon's pickle protocol (messages of at most 500 points / 512 KiB), with the same queue and at-least-once delivery",
  },
  {
    key: 'graphite',
    field: 'graphite',
    check: { kind: 'section', section: GRAPHITE_SECTION },
    type: 'object',
    defaultDoc: '—',
    reload: 'backends',
    doc: `the graphite backend's section, ${seeSection(GRAPHITE_SECTION)}`,
  },
];
