/** The StatsD byte parser: scanner (hot path), number parsing, and key canonicalisation (slow path). */

export { BARE_TAG_VALUE, canonicalKey, sanitizeKey } from './canonical.js';
export { parseNumber } from './numbers.js';
export { parsePacket } from './scanner.js';
export {
  BAD_LINE_REASONS,
  BadLine,
  METRIC_TYPE_NAMES,
  type MetricKey,
  MetricType,
  Sample,
  type SampleSink,
  type Tag,
} from './types.js';
