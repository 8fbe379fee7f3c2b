/**
 * Loads the fake "max" type (./max-type.ts) into a daemon before it starts:
 * `node --import ./dist/test/fake-type/preload.js dist/src/main.js config.js` (or through NODE_OPTIONS,
 * which the cluster workers inherit). Its imports resolve to the same dist/src modules as main.js's,
 * so the registrations land in the daemon's own tables.
 */
import { registerMaxType } from './max-type.js';

registerMaxType();
