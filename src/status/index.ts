/**
 * The live status page: a collector fed by the flush and the bad-line hook, and its HTTP server.
 * See the README's "Status page" and docs/status-api.md.
 */
import type { Logger } from 'pino';
import type { StatusPageConfig } from '../config/types.js';
import type { StatusCollector } from './collector.js';
import { type StatusServer, startStatusServer } from './server.js';

export { StatusCollector, type StatusHost } from './collector.js';
export type { StatusServer } from './server.js';

/**
 * Starts the page's server when enabled. A busy port stops start-up only when the port was configured;
 * on the default port it is a warning (the page is an aid, not the daemon's job).
 */
export async function startStatusPage(
  collector: StatusCollector,
  c: StatusPageConfig,
  health: () => 'up' | 'down',
  log: Logger,
): Promise<StatusServer | null> {
  if (!c.enabled) return null;
  try {
    return await startStatusServer(collector, { address: c.address, port: c.port, token: c.token, health }, log);
  } catch (err) {
    if (c.portConfigured) throw err;
    log.warn({ address: c.address, port: c.port }, `status page not started: ${(err as Error).message}`);
    return null;
  }
}
