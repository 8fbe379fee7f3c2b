/**
 * Process entry of a cluster worker (forked by ../pipeline/ingest-workers.ts with node:cluster). Exits when the
 * primary stops it or goes away.
 */
import { createLogger } from '../log/index.js';
import { runWorker } from './worker.js';

runWorker().then(
  () => setTimeout(() => process.exit(0), 50),
  (err: unknown) => {
    // in the format the primary chose (TALLYD_LOG_FORMAT)
    createLogger('info').fatal({ err, component: 'worker' }, `worker fatal: ${(err as Error)?.message ?? String(err)}`);
    process.exit(70);
  },
);
