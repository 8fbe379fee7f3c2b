/**
 * Sending datagrams to a Unix datagram socket (the local syslog's /dev/log), through tallyd's native
 * addon (src/native/unix_dgram.c): Node's dgram has no AF_UNIX, and the npm unix-dgram watches its
 * socket on the main thread's libuv loop, which the pino transport's worker thread must not touch.
 *
 * Built by `npm ci` / `npm install` with the UDP reader (node-gyp, src/native/binding.gyp); where it is
 * not built, {@link loadUnixDgram} returns null and {@link unixDgramProblem} says why: the syslog
 * default then stays UDP (src/config/readers.ts), and `log.syslog.dgram` is a config problem.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's API (src/native/unix_dgram.c). */
export interface UnixDgram {
  /** A handle on `path` (at most {@link MAX_UNIX_PATH_BYTES} bytes); connects on the first send. */
  open(path: string): unknown;
  /** One datagram: {@link SENT}, {@link WOULD_BLOCK} (the receiver's queue is full; not sent), or -errno (not sent). */
  send(handle: unknown, datagram: Buffer): number;
  /** Closes the socket (a later send opens it again). */
  close(handle: unknown): void;
}

export const SENT = 0;
export const WOULD_BLOCK = 1;
/** The longest socket path the addon takes (sun_path is 108 bytes on Linux, with its NUL). */
export const MAX_UNIX_PATH_BYTES = 106;

let cached: UnixDgram | null | undefined;
let loadError: string | undefined;

/** The compiled addon, or null (see {@link unixDgramProblem}). */
export function loadUnixDgram(): UnixDgram | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.platform === 'win32') {
    loadError = 'Unix datagram sockets are not available on Windows';
    return null;
  }
  // from dist/src/log/unix-dgram.js (built) or src/log/unix-dgram.ts (tests run from source)
  const here = dirname(fileURLToPath(import.meta.url));
  const addon = join('src', 'native', 'build', 'Release', 'unix_dgram.node');
  const candidates = [join(here, '..', '..', '..', addon), join(here, '..', '..', addon)];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    loadError = `tallyd's native addon is not built (${candidates[0]}); run npm install with a C compiler`;
    return null;
  }
  try {
    cached = createRequire(import.meta.url)(file) as UnixDgram;
  } catch (err) {
    loadError = `tallyd's native addon failed to load: ${(err as Error).message}`;
  }
  return cached;
}

/** Why {@link loadUnixDgram} returns null; undefined when it loads. */
export function unixDgramProblem(): string | undefined {
  loadUnixDgram();
  return cached === null ? loadError : undefined;
}
