import { nativeAddon } from '../native/addon.js';

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

const addon = nativeAddon<UnixDgram>(
  'unix_dgram.node',
  "tallyd's native addon is",
  process.platform === 'win32' ? 'Unix datagram sockets are not available on Windows' : undefined,
);

/** The compiled addon, or null (see {@link unixDgramProblem}). */
export function loadUnixDgram(): UnixDgram | null {
  return addon.load();
}

/** Why {@link loadUnixDgram} returns null; undefined when it loads. */
export function unixDgramProblem(): string | undefined {
  return addon.problem();
}
