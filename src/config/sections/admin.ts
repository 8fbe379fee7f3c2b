/**
 * The admin interface's keys (`mgmt_*`) and the status page's section.
 */
import {
  DEFAULT_MGMT_ADDRESS,
  DEFAULT_MGMT_IDLE_TIMEOUT_MS,
  DEFAULT_MGMT_MAX_CONNECTIONS,
  DEFAULT_MGMT_PORT,
  DEFAULT_STATUS_ADDRESS,
  DEFAULT_STATUS_PORT,
} from '../defaults.js';
import { INT_MAX, type KeySchema, type SectionSchema, seeSection } from './types.js';

/** The top level's admin interface keys. */
export const ADMIN_KEYS: readonly KeySchema[] = [
  {
    key: 'mgmt_port',
    field: 'mgmtPort',
    check: { kind: 'port', allowZero: true },
    def: DEFAULT_MGMT_PORT,
    type: 'int 0..65535',
    reload: 'pipeline',
    doc: 'admin interface TCP port',
  },
  {
    key: 'mgmt_address',
    field: 'mgmtAddress',
    check: { kind: 'str', nonEmpty: true },
    def: DEFAULT_MGMT_ADDRESS,
    type: 'string',
    reload: 'pipeline',
    doc: 'admin interface address',
  },
  {
    key: 'mgmtMaxConnections',
    field: 'mgmtMaxConnections',
    check: { kind: 'int', min: 1, max: 100_000, expected: 'an integer between 1 and 100000 (connections)' },
    def: DEFAULT_MGMT_MAX_CONNECTIONS,
    type: 'int 1..100000',
    reload: 'pipeline',
    doc: 'tallyd: admin connections open at once; more are refused',
  },
  {
    key: 'mgmtIdleTimeout',
    field: 'mgmtIdleTimeout',
    check: { kind: 'int', min: 0, max: INT_MAX, expected: 'a non-negative integer (ms; 0: never)' },
    def: DEFAULT_MGMT_IDLE_TIMEOUT_MS,
    type: 'ms',
    reload: 'pipeline',
    doc: 'tallyd: an admin connection idle this long is closed (0: never)',
  },
];

export const STATUS_PAGE_SECTION: SectionSchema = {
  prefix: 'statusPage.',
  title: '`statusPage`',
  anchor: 'statuspage',
  keys: [
    { key: 'enabled', check: { kind: 'bool' }, def: true, type: 'bool', reload: 'pipeline', doc: 'serve the status page' },
    {
      key: 'address',
      check: { kind: 'str', nonEmpty: true },
      def: DEFAULT_STATUS_ADDRESS,
      type: 'string',
      reload: 'pipeline',
      doc: 'its address; any non-loopback address needs `token`',
    },
    {
      key: 'port',
      check: { kind: 'port', allowZero: true },
      def: DEFAULT_STATUS_PORT,
      type: 'int 0..65535',
      reload: 'pipeline',
      doc: 'its port; a configured port that is taken stops start-up, the default one only warns',
    },
    {
      key: 'token',
      check: { kind: 'optStr' },
      type: 'string ≥ 16 chars',
      defaultDoc: '—',
      reload: 'pipeline',
      doc: 'bearer token for the page and its API',
    },
  ],
};

/** The top level's `statusPage` key. */
export const STATUS_PAGE_KEYS: readonly KeySchema[] = [
  {
    key: 'statusPage',
    field: 'statusPage',
    check: { kind: 'section', section: STATUS_PAGE_SECTION },
    type: 'object',
    defaultDoc: 'on, 127.0.0.1:8127',
    reload: 'pipeline',
    doc: `the status page, ${seeSection(STATUS_PAGE_SECTION)}`,
  },
];
