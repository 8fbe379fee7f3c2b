/** The aggregator: samples in, snapshots out. */
export { type AdminMetricType, Aggregator, type AggregatorOptions, MSG_CLOCK_MS } from './aggregator.js';
export { KeyTable } from './keytable.js';
export {
  binIndex,
  binName,
  type CompiledHistogram,
  compileHistograms,
  compileThresholds,
  type Threshold,
  thresholdSuffix,
} from './percentiles.js';
export { EMPTY_RESERVOIR, growReservoir, reservoirValues, seededRandom } from './reservoir.js';
export type * from './snapshot.js';
