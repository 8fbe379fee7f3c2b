/**
 * Server modules: the original's server interface. `servers: [{ server: './my-server.js', ... }]` (or
 * the top-level `server` key) loads the module as the original does and calls
 * `start(config, callback)`, where `config` is the server's entry as written (the whole config file's
 * object for the top-level form) and `callback(packet, rinfo)` takes a Buffer or a string holding one
 * or more lines. Each packet goes through the same path as UDP and TCP input: packet hooks (repeater,
 * npm backends), parser, aggregator. A falsy return from start() stops start-up, as in the original.
 * Closing calls `close()` on the module's `server` export when it has one (the original's udp.js and
 * tcp.js keep their socket there); packets arriving after that are dropped.
 */
import type { Logger } from 'pino';
import { exportedFunction, loadModule, resolvePlugin } from '../backends/plugin/resolve.js';
import type { ServerConfig } from '../config/types.js';
import { ListenError } from '../errors.js';
import { LogLimiter } from '../log/ratelimit.js';
import type { Listener, PacketHandler, PacketSender } from './types.js';

/** A deep copy of what the module gets (it may keep and change it). */
function copyOf(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    return structuredClone(value) as Record<string, unknown>;
  } catch {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  }
}

/** The rinfo a module passes (the original's udp.js passes dgram's), when it has an address. */
function senderOf(rinfo: unknown): PacketSender | undefined {
  if (rinfo === null || typeof rinfo !== 'object') return undefined;
  const r = rinfo as { address?: unknown; family?: unknown; port?: unknown };
  if (typeof r.address !== 'string') return undefined;
  return { address: r.address, family: typeof r.family === 'string' ? r.family : '', port: typeof r.port === 'number' ? r.port : 0 };
}

export async function startModuleListener(
  cfg: ServerConfig,
  onPacket: PacketHandler,
  log: Logger,
  configFile: string | undefined,
): Promise<Listener> {
  const spec = cfg.module!;
  const location = resolvePlugin(spec, configFile);
  const mod = await loadModule(location.file);
  const start = exportedFunction(mod, 'start');
  if (start === undefined) throw new ListenError(`server module "${spec}" (${location.file}) has no start(config, callback) function`);
  let closed = false;
  const badLog = new LogLimiter(10_000);
  let bad = 0;
  // what the module hands over: a Buffer (as dgram), a string (as the original's tcp.js), or a Uint8Array
  const callback = (packet: unknown, rinfo?: unknown): void => {
    if (closed) return;
    let buf: Buffer;
    if (Buffer.isBuffer(packet)) buf = packet;
    else if (typeof packet === 'string') buf = Buffer.from(packet, 'utf8');
    else if (packet instanceof Uint8Array) buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    else {
      bad++;
      if (badLog.take())
        log.warn(
          { module: spec, type: typeof packet, refused: bad },
          'server module: a packet that is neither a Buffer nor a string was refused',
        );
      return;
    }
    if (buf.length > 0) onPacket(buf, 0, buf.length, senderOf(rinfo));
  };
  let ok: unknown;
  try {
    ok = start.call(mod, copyOf(cfg.moduleConfig ?? {}), callback);
  } catch (err) {
    throw new ListenError(`server module "${spec}" (${location.file}): start threw: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  if (!ok)
    throw new ListenError(
      `server module "${spec}" (${location.file}): start returned ${String(ok)}: it failed to load (the original exits here too)`,
    );
  log.info({ module: location.file, from: location.from }, `server module "${spec}" started`);
  return {
    kind: 'module',
    description: `module ${spec}`,
    port: 0,
    close: async () => {
      closed = true;
      const server = (mod.server ?? (mod.default as Record<string, unknown> | undefined)?.server) as
        | { close?: (cb?: () => void) => unknown }
        | undefined;
      if (server === undefined || typeof server.close !== 'function') return;
      await new Promise<void>((res) => {
        try {
          // net/http servers call back once closed; dgram sockets too; a bound on the wait either way
          const t = setTimeout(res, 1000);
          t.unref();
          server.close!(() => {
            clearTimeout(t);
            res();
          });
        } catch {
          res();
        }
      });
    },
  };
}
