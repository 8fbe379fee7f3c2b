/**
 * The process's keys: debugging, health, the backends list, the key-frequency log, reloads, the
 * process title and logging (the `log` section and its syslog part).
 */
import {
  DEFAULT_AUTOMATIC_CONFIG_RELOAD,
  DEFAULT_HEALTH_STATUS,
  DEFAULT_KEY_FLUSH_INTERVAL_MS,
  DEFAULT_KEY_FLUSH_PERCENT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_TITLE,
} from '../defaults.js';
import { INT_MAX, type KeySchema, ms, type SectionSchema, seeSection } from './types.js';

export const KEY_FLUSH_SECTION: SectionSchema = {
  prefix: 'keyFlush.',
  title: '`keyFlush`',
  anchor: 'keyflush',
  keys: [
    {
      key: 'interval',
      check: { kind: 'int', min: 0, max: INT_MAX, expected: ms('non-negative') },
      def: DEFAULT_KEY_FLUSH_INTERVAL_MS,
      type: 'ms',
      defaultDoc: '0 (off)',
      reload: 'restart',
      doc: 'how often the most frequent keys are logged',
    },
    {
      key: 'percent',
      check: { kind: 'custom' },
      def: DEFAULT_KEY_FLUSH_PERCENT,
      type: '0 < p ≤ 100',
      reload: 'restart',
      doc: 'share of the keys logged',
    },
    {
      key: 'log',
      check: { kind: 'optStr' },
      type: 'path',
      defaultDoc: '—',
      reload: 'restart',
      doc: 'file to write them to (default: the log)',
    },
  ],
};

export const SYSLOG_SECTION: SectionSchema = {
  prefix: 'log.syslog.',
  title: '`log.syslog`',
  anchor: 'logsyslog',
  keys: [
    { key: 'protocol', check: { kind: 'custom' }, type: '`udp` \\| `tcp`', defaultDoc: '`udp`', reload: 'restart', doc: 'transport' },
    { key: 'host', check: { kind: 'custom' }, type: 'string', defaultDoc: '`127.0.0.1`', reload: 'restart', doc: 'syslog host' },
    { key: 'port', check: { kind: 'custom' }, type: 'int', defaultDoc: '514', reload: 'restart', doc: 'syslog port' },
    {
      key: 'socket',
      check: { kind: 'custom' },
      type: 'path',
      defaultDoc: '—',
      reload: 'restart',
      doc: 'a Unix stream socket instead of host/port',
    },
    {
      key: 'dgram',
      check: { kind: 'custom' },
      type: 'path',
      defaultDoc: '`/dev/log` if it exists and no other key is set',
      reload: 'restart',
      doc: "a Unix datagram socket (the local syslog's), in the local form `<PRI>Mmm dd hh:mm:ss APP[PID]: MSG`",
    },
  ],
};

export const LOG_SECTION: SectionSchema = {
  prefix: 'log.',
  title: '`log`',
  anchor: 'log',
  keys: [
    {
      key: 'backend',
      check: { kind: 'custom' },
      type: '`stdout` \\| `syslog`',
      defaultDoc: '`stdout`',
      reload: 'restart',
      doc: '`stdout`: stderr in `--log-format`; `syslog`: syslog messages to `log.syslog`',
    },
    { key: 'application', check: { kind: 'custom' }, type: 'string', defaultDoc: '`statsd`', reload: 'restart', doc: 'syslog APP-NAME' },
    {
      key: 'level',
      check: { kind: 'custom' },
      type: 'pino level or `LOG_*`',
      defaultDoc: '—',
      reload: 'none',
      doc: 'log level (`logLevel` wins)',
    },
    {
      key: 'syslog',
      check: { kind: 'custom' },
      type: 'object',
      defaultDoc: '`/dev/log` if it exists, else UDP 127.0.0.1:514',
      reload: 'restart',
      doc: 'where syslog messages go',
    },
  ],
};

/** The top level's process keys. */
export const PROCESS_KEYS: readonly KeySchema[] = [
  {
    key: 'dumpMessages',
    field: 'dumpMessages',
    check: { kind: 'bool' },
    def: false,
    type: 'bool',
    reload: 'none',
    doc: 'log every received packet (info level)',
  },
  {
    key: 'debug',
    field: 'debug',
    check: { kind: 'bool' },
    def: false,
    type: 'bool',
    reload: 'none',
    doc: 'debug logging (`logLevel` wins)',
  },
  {
    key: 'debugInterval',
    check: { kind: 'custom' },
    type: 'ms',
    defaultDoc: '10000',
    reload: 'none',
    doc: "accepted for compatibility (the original's debug dump interval); not used",
  },
  {
    key: 'healthStatus',
    field: 'healthStatus',
    check: { kind: 'oneOf', values: ['up', 'down'] },
    def: DEFAULT_HEALTH_STATUS,
    type: '`up` \\| `down`',
    reload: 'none',
    doc: 'initial answer of the admin `health` command and of `/health`',
  },
  {
    key: 'backends',
    field: 'backends',
    check: { kind: 'custom' },
    type: 'list of strings',
    defaultDoc: "`['graphite']` with `graphiteHost`, else `['console']`",
    reload: 'backends',
    doc: '`graphite`, `console`, `repeater`, `prometheus` (`./backends/x` works), or an npm backend / backend file',
  },
  {
    key: 'keyFlush',
    field: 'keyFlush',
    check: { kind: 'section', section: KEY_FLUSH_SECTION },
    type: 'object',
    defaultDoc: 'off',
    reload: 'restart',
    doc: `most frequent keys log, ${seeSection(KEY_FLUSH_SECTION)}`,
  },
  {
    key: 'automaticConfigReload',
    field: 'automaticConfigReload',
    check: { kind: 'bool' },
    def: DEFAULT_AUTOMATIC_CONFIG_RELOAD,
    type: 'bool',
    reload: 'none',
    doc: 'reload when the config file changes (SIGHUP always reloads)',
  },
  {
    key: 'title',
    field: 'title',
    check: { kind: 'custom' },
    def: DEFAULT_TITLE,
    type: 'string \\| false',
    reload: 'restart',
    doc: "process title; `false` keeps Node's",
  },
  {
    key: 'logLevel',
    field: 'logLevel',
    check: { kind: 'custom' },
    def: DEFAULT_LOG_LEVEL,
    type: 'string',
    reload: 'none',
    doc: 'tallyd: pino level: trace, debug, info, warn, error, fatal, silent',
  },
  {
    key: 'log',
    field: 'log',
    check: { kind: 'custom' },
    type: 'object',
    defaultDoc: 'stderr',
    reload: 'restart',
    doc: `log destination, ${seeSection(LOG_SECTION)}`,
  },
];
