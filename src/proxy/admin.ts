/**
 * The proxy's admin commands, as the original proxy.js answers them (help, config, health [up|down],
 * status, quit), plus tallyd's `stats` (the proxy's own counters).
 */
import type { CommandResult } from '../admin/commands.js';

export const PROXY_HELP_TEXT = 'Commands: config, health, status, stats, quit\n\n';

export interface ProxyAdminContext {
  /** unix s */
  readonly startupTime: number;
  getHealth(): 'up' | 'down';
  setHealth(h: 'up' | 'down'): void;
  /** Ring members, in the ring's order. */
  ringNodes(): string[];
  configText(): string;
  /** `name: value` pairs for `stats`. */
  stats(): Array<[string, number | string]>;
}

export function runProxyCommand(line: string, ctx: ProxyAdminContext, nowSec: number): CommandResult {
  const words = line
    .trim()
    .split(' ')
    .filter((w) => w !== '');
  const cmd = words.shift() ?? '';
  switch (cmd) {
    case 'help':
      return { output: PROXY_HELP_TEXT, close: false };
    case 'config':
      return { output: ctx.configText(), close: false };
    case 'health': {
      const action = words[0]?.toLowerCase();
      if (action === 'up' || action === 'down') ctx.setHealth(action);
      return { output: `health: ${ctx.getHealth()}\n`, close: false };
    }
    case 'status': {
      // the original writes each ring member followed by a space
      let out = `uptime: ${nowSec - ctx.startupTime}\nnodes: `;
      for (const id of ctx.ringNodes()) out += id + ' ';
      return { output: out + '\n', close: false };
    }
    case 'stats': {
      let out = `uptime: ${nowSec - ctx.startupTime}\n`;
      for (const [k, v] of ctx.stats()) out += `${k}: ${v}\n`;
      return { output: out + 'END\n\n', close: false };
    }
    case 'quit':
      return { output: '', close: true };
    default:
      return { output: 'ERROR\n', close: false };
  }
}
