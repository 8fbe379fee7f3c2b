/**
 * The daemon: one pipeline (./pipeline/pipeline.ts) whose input is read by this process's listeners
 * (`workers` 1) or by cluster workers (`workers` > 1). Both run the same orchestration.
 */
import type { Logger } from 'pino';
import type { TallydConfig } from './config/types.js';
import { Pipeline, type PipelineOptions } from './pipeline/pipeline.js';

export type DaemonOptions = PipelineOptions;

export class Daemon extends Pipeline {
  constructor(config: TallydConfig, rootLog: Logger, opts: DaemonOptions = {}) {
    super(config, rootLog, opts);
  }
}
