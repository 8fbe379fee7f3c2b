/**
 * The status page's JSON API, as JSON Schemas: serialised with fast-json-stringify (compiled once),
 * and documented in docs/status-api.md. A field not in a schema is never sent.
 */
import fastJson from 'fast-json-stringify';

const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;
const numList = { type: 'array', items: num } as const;

export const STATUS_SCHEMA = {
  type: 'object',
  properties: {
    now: int,
    flushInterval: int,
    viewing: { type: 'boolean' },
    ingest: {
      type: 'object',
      properties: {
        packets: int,
        lines: int,
        udpReceiveErrors: { type: ['integer', 'null'] },
        packetsPerSec: num,
        linesPerSec: num,
        linesPerSecByType: {
          type: ['object', 'null'],
          properties: { counters: num, timers: num, gauges: num, sets: num },
        },
      },
    },
    badLines: {
      type: 'object',
      properties: {
        byReason: { type: 'array', items: { type: 'object', properties: { reason: str, count: int } } },
        recent: { type: 'array', items: { type: 'object', properties: { at: int, reason: str, line: str } } },
      },
    },
    keys: {
      type: 'object',
      properties: { counters: int, timers: int, gauges: int, sets: int, total: int, maxKeys: int, created: int },
    },
    flush: { type: 'object', properties: { count: int, lastMs: num } },
    history: {
      type: 'object',
      properties: {
        t: numList,
        packetsPerSec: numList,
        linesPerSec: numList,
        badLinesPerSec: numList,
        udpDrops: numList,
        flushMs: numList,
        numStats: numList,
        newKeys: numList,
        liveKeys: numList,
      },
    },
    historyCap: int,
    watched: { type: 'object', properties: { type: str, id: str, t: numList, v: numList } },
    backends: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: str,
          state: {
            type: ['object', 'null'],
            properties: {
              connected: { type: ['boolean', 'null'] },
              replaying: { type: 'boolean' },
              lastError: { type: ['string', 'null'] },
              lastErrorAt: { type: ['integer', 'null'] },
            },
          },
          lines: { type: 'array', items: { type: 'object', properties: { stat: str, value: str } } },
        },
      },
    },
    topKeys: { type: 'array', items: { type: 'object', properties: { type: str, id: str, lines: int } } },
    topKeysSampledMs: int,
  },
} as const;

export const KEYS_SCHEMA = {
  type: 'object',
  properties: {
    q: str,
    cursor: int,
    keys: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          type: str,
          id: str,
          name: str,
          tags: { type: 'array', items: { type: 'array', items: str } },
          value: num,
          ratePerSec: { type: ['number', 'null'] },
          graphite: { type: 'array', items: str },
          prometheus: str,
        },
      },
    },
  },
} as const;

export const KEY_HISTORY_SCHEMA = {
  type: 'object',
  properties: { type: str, id: str, t: numList, v: numList },
} as const;

export const stringifyStatus = fastJson(STATUS_SCHEMA);
export const stringifyKeys = fastJson(KEYS_SCHEMA);
export const stringifyKeyHistory = fastJson(KEY_HISTORY_SCHEMA);
