/** The StatsD byte parser: scanner (hot path), number parsing, and key canonicalisation (slow path). */
export { parsePacket } from './scanner.js';
export { parseNumber } from './numbers.js';
export { sanitizeKey, canonicalKey, BARE_TAG_VALUE } from './canonical.js';
export {
  MetricType,
  METRIC_TYPE_NAMES,
  BadLine,
  BAD_LINE_REASONS,
  Sample,
  type SampleSink,
  type Tag,
  type MetricKey,
} from './types.js';
