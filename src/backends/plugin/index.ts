/**
 * npm backends and local backend files, through the original statsd's backend interface:
 *   module.init(startupTime, config, events, logger) → truthy, then on `events` (an EventEmitter):
 *     'flush'  (timestamp, metrics)   once per flush, metrics in the original's shapes (./metrics.ts)
 *     'status' (writeCb)              on the admin `stats` command; writeCb(err, group, stat, value)
 *     'packet' (msg, rinfo)           every received packet, only while a listener is registered (with
 *                                     workers > 1 the workers forward them here: src/cluster/worker-forward.ts)
 * `config` is a copy of the config file's object (normalised as the original normalises it), and
 * `logger.log(msg, type)` writes to tallyd's log.
 *
 * A plug-in costs nothing to the others: each listener is called on its own, inside try/catch; an
 * exception thrown later from the plug-in's own code (a timer, a socket callback) is recognised by its
 * stack and kept from ending the process; a status callback that never comes only leaves its lines out.
 * Each kind of failure is logged once (then only counted, in the admin `stats` lines of the backend).
 * A plug-in is initialised once per process, as in the original: a reload does not run init again.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import type { Snapshot } from '../../aggregator/snapshot.js';
import type { TallydConfig } from '../../config/types.js';
import { BackendError } from '../../errors.js';
import type { PacketSender } from '../../listeners/types.js';
import { errorText } from '../error-text.js';
import type { Backend, BackendContext, BackendState, StatusLine } from '../types.js';
import { type OriginalMetrics, originalMetrics } from './metrics.js';
import { exportedFunction, loadModule, type PluginLocation, resolvePlugin } from './resolve.js';

export { type PluginLocation, resolvePlugin } from './resolve.js';

/** What can go wrong in a plug-in; each kind is logged once and counted. */
export const FAILURE_KINDS = ['flush', 'status', 'packet', 'async', 'slow'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A flush listener running longer than this holds ingest up meanwhile: logged once, counted as `slow`. */
export const SLOW_LISTENER_MS = 1000;

/** The original's logger: `log(msg, type)`, type one of its syslog-style names (DEBUG when absent). */
export interface OriginalLogger {
  log(msg: unknown, type?: string): void;
}

const LEVELS: Readonly<Record<string, 'debug' | 'info' | 'warn' | 'error'>> = {
  DEBUG: 'debug',
  INFO: 'info',
  NOTICE: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERR: 'error',
  ERROR: 'error',
  CRIT: 'error',
  ALERT: 'error',
  EMERG: 'error',
};

/** logger.log(msg, type) → pino. No type: info (the original's stdout logger prints those always). */
export function originalLogger(log: Logger): OriginalLogger {
  return {
    log(msg: unknown, type?: string): void {
      const level = (type === undefined ? undefined : LEVELS[String(type).toUpperCase().replace(/^LOG_/, '')]) ?? 'info';
      if (msg instanceof Error) log[level]({ err: msg }, msg.message);
      else log[level](typeof msg === 'string' ? msg : inspect(msg, { breakLength: Infinity }));
    },
  };
}

/** A deep copy of the config file's object, as the original hands it to init (it may be mutated). */
export function originalConfig(config: TallydConfig): Record<string, unknown> {
  let c: Record<string, unknown>;
  try {
    c = structuredClone(config.raw) as Record<string, unknown>;
  } catch {
    c = JSON.parse(JSON.stringify(config.raw)) as Record<string, unknown>;
  }
  // what the original's stats.js writes back into its config before loading backends
  c.flushInterval = config.flushInterval;
  c.gaugesMaxTTL = config.gaugesMaxTTL;
  c.deleteIdleStats ??= false;
  if (c.deleteIdleStats === true) {
    c.deleteCounters = config.deleteCounters;
    c.deleteTimers = config.deleteTimers;
    c.deleteSets = config.deleteSets;
    c.deleteGauges = config.deleteGauges;
  }
  return c;
}

/** One loaded plug-in: kept for the life of the process (reloads reuse it). */
class LoadedPlugin {
  readonly emitter = new EventEmitter();
  readonly failures: Record<FailureKind, number> = { flush: 0, status: 0, packet: 0, async: 0, slow: 0 };
  private readonly logged = new Set<FailureKind>();
  /** The last failure (the status page), and when (unix ms). */
  lastError: string | null = null;
  lastErrorAt: number | null = null;
  /** True while a 'packet' listener is registered (read per packet: no listener count per packet). */
  wantsPackets = false;
  /** Where the plug-in's code lives: an exception whose stack shows it is the plug-in's. */
  readonly codeRoot: string;

  constructor(
    readonly location: PluginLocation,
    readonly log: Logger,
  ) {
    this.codeRoot = packageRoot(location.file);
    this.emitter.setMaxListeners(0);
    this.emitter.on('newListener', (event) => {
      if (event === 'packet') this.wantsPackets = true;
    });
    this.emitter.on('removeListener', (event) => {
      if (event === 'packet') this.wantsPackets = this.emitter.listenerCount('packet') > 0;
    });
  }

  fail(kind: FailureKind, err: unknown, extra: Record<string, unknown> = {}): void {
    this.failures[kind]++;
    this.lastError =
      kind + ': ' + (kind === 'slow' ? `a flush listener blocked the process for ${String(extra['ms'])} ms` : errorText(err));
    this.lastErrorAt = Date.now();
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    this.log.error(
      { err, kind, module: this.location.file, ...extra },
      `npm backend "${this.location.spec}": ${kind === 'slow' ? 'a flush listener blocked the process' : `${kind} failed`} (logged once; later ones are counted in the admin 'stats' lines)`,
    );
  }

  /** Calls every listener of `event` on its own: one that throws does not stop the others. */
  emit(kind: FailureKind, event: string, args: unknown[]): void {
    const listeners = this.emitter.rawListeners(event);
    for (let i = 0; i < listeners.length; i++) {
      try {
        (listeners[i] as (...a: unknown[]) => void).apply(this.emitter, args);
      } catch (err) {
        this.fail(kind, err);
      }
    }
  }
}

/** The nearest directory holding a package.json above `file` (the file's directory when none). */
function packageRoot(file: string): string {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir || up.endsWith(`${sep}node_modules`)) return dirname(file);
    dir = up;
  }
}

/** Loaded plug-ins by the name written in `backends`. */
const loaded = new Map<string, LoadedPlugin>();
/** The original's metrics object of a snapshot (built in slices), shared by every plug-in. */
const metricsCache = new WeakMap<Snapshot, Promise<OriginalMetrics>>();

let guardInstalled = false;
/**
 * An exception no one caught: the plug-in's when its stack runs through the plug-in's code (counted,
 * logged once, the process goes on); anything else ends the process as Node would.
 */
function installGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  const onUncaught = (err: unknown): void => {
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    for (const p of loaded.values()) {
      if (stack.includes(p.codeRoot + sep)) {
        p.fail('async', err);
        return;
      }
    }
    // not a plug-in's: Node's own handling (print, exit code 1)
    process.removeListener('uncaughtException', onUncaught);
    setImmediate(() => {
      throw err;
    });
  };
  process.on('uncaughtException', onUncaught);
}

async function loadPlugin(spec: string, ctx: BackendContext): Promise<LoadedPlugin> {
  const location = resolvePlugin(spec, ctx.config.configFile);
  const mod = await loadModule(location.file);
  const init = exportedFunction(mod, 'init');
  if (init === undefined)
    throw new BackendError(spec, `backend "${spec}" (${location.file}) has no init(startupTime, config, events, logger) function`);
  const p = new LoadedPlugin(location, ctx.log);
  loaded.set(spec, p);
  installGuard();
  let ok: unknown;
  try {
    ok = init(ctx.startupTime, originalConfig(ctx.config), p.emitter, originalLogger(ctx.log));
  } catch (err) {
    loaded.delete(spec);
    throw new BackendError(spec, `backend "${spec}" (${location.file}): init threw: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  if (!ok) {
    loaded.delete(spec);
    throw new BackendError(
      spec,
      `backend "${spec}" (${location.file}): init returned ${inspect(ok)}: it failed to load (the original exits here too)`,
    );
  }
  ctx.log.info({ module: location.file, from: location.from }, `npm backend "${spec}" loaded`);
  return p;
}

export class PluginBackend implements Backend {
  private plugin: LoadedPlugin | null = null;

  constructor(
    readonly name: string,
    private readonly ctx: BackendContext,
  ) {}

  async start(): Promise<void> {
    const already = loaded.get(this.name);
    if (already !== undefined) {
      // a reload: the original never runs init twice, and neither does tallyd
      this.ctx.log.info(
        { module: already.location.file },
        `npm backend "${this.name}" stays loaded: changes to its own settings apply at restart`,
      );
      this.plugin = already;
      return;
    }
    this.plugin = await loadPlugin(this.name, this.ctx);
  }

  async flush(snapshot: Snapshot): Promise<void> {
    const p = this.plugin;
    if (p === null || p.emitter.listenerCount('flush') === 0) return;
    let building = metricsCache.get(snapshot);
    if (building === undefined) {
      building = originalMetrics(snapshot, this.ctx.config, this.ctx.yieldToIngest);
      metricsCache.set(snapshot, building);
    }
    const metrics = await building;
    const t0 = performance.now();
    p.emit('flush', 'flush', [snapshot.timestamp, metrics]);
    const ms = performance.now() - t0;
    if (ms > SLOW_LISTENER_MS) p.fail('slow', undefined, { ms: Math.round(ms) });
  }

  /** With workers > 1: the workers forward their packets here while a 'packet' listener is registered. */
  wantsForwardedPackets(): boolean {
    return this.plugin?.wantsPackets === true;
  }

  packet(buf: Buffer, start: number, end: number, from?: PacketSender): void {
    const p = this.plugin;
    if (p === null || !p.wantsPackets) return;
    // copies: the plug-in may keep them, and the native reader reuses its buffer and sender object
    const msg = Buffer.from(buf.subarray(start, end));
    const rinfo =
      from === undefined
        ? { address: '', family: '', port: 0, size: end - start }
        : { address: from.address, family: from.family, port: from.port, size: end - start };
    p.emit('packet', 'packet', [msg, rinfo]);
  }

  /** An npm backend has no connection tallyd can see: its state is its last failure. */
  state(): BackendState {
    const p = this.plugin;
    return { connected: null, replaying: false, lastError: p?.lastError ?? null, lastErrorAt: p?.lastErrorAt ?? null };
  }

  /** tallyd's own lines about the plug-in (failures), shown only once there is one. */
  status(): StatusLine[] {
    const p = this.plugin;
    if (p === null) return [];
    const lines: StatusLine[] = [];
    for (const k of FAILURE_KINDS) if (p.failures[k] > 0) lines.push([`plugin_failures_${k}`, p.failures[k]]);
    return lines;
  }

  /**
   * The admin `stats` lines: whatever the plug-in writes through writeCb during the 'status' event,
   * under the group names it gives (as the original prints them), then tallyd's own lines. A writeCb
   * called later (after the answer went out) is ignored.
   */
  statusGroups(): Array<{ name: string; lines: StatusLine[] }> {
    const p = this.plugin;
    if (p === null) return [];
    const groups = new Map<string, StatusLine[]>();
    let open = true;
    const writeCb = (err: unknown, group: unknown, stat: unknown, value: unknown): void => {
      if (!open) return;
      if (err) {
        p.log.warn({ err }, `Failed to read stats for backend ${String(group)}`);
        return;
      }
      const name = String(group);
      let lines = groups.get(name);
      if (lines === undefined) groups.set(name, (lines = []));
      lines.push([String(stat), typeof value === 'number' || typeof value === 'string' ? value : String(value)]);
    };
    p.emit('status', 'status', [writeCb]);
    open = false;
    const out = [...groups].map(([name, lines]) => ({ name, lines }));
    const own = this.status();
    if (own.length > 0) out.push({ name: this.name, lines: own });
    return out;
  }

  /** Nothing to drain: the original's interface has no stop; the plug-in stays loaded (a reload reuses it). */
  async stop(): Promise<void> {}
}

export function createPluginBackend(name: string, ctx: BackendContext): Backend {
  return new PluginBackend(name, ctx);
}

/** For --check-config: where each configured plug-in is found, or why it is not. */
export function describePlugin(spec: string, configFile: string | undefined, what = 'backend'): { ok: boolean; text: string } {
  try {
    const l = resolvePlugin(spec, configFile);
    return { ok: true, text: `${what} "${spec}": ${l.file} (found ${l.from === 'path' ? 'at the path given' : `from ${l.from}`})` };
  } catch (err) {
    return { ok: false, text: `${what} "${spec}": ${(err as Error).message}` };
  }
}
