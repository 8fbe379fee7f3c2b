/**
 * Process entry of a cluster worker (forked by ./primary.ts with node:cluster). Exits when the
 * primary stops it or goes away.
 */
import { runWorker } from './worker.js';

runWorker().then(
  () => setTimeout(() => process.exit(0), 50),
  (err: unknown) => {
    process.stderr.write(`tallyd worker: fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(70);
  },
);
