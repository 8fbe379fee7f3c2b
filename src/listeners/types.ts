/**
 * Where a packet came from, as the original's `rinfo` gives it (`family` 'IPv4' or 'IPv6'). A listener
 * may reuse one object for every packet and decode it only when read: read it during the handler's
 * call, and copy what is kept.
 */
export interface PacketSender {
  readonly address: string;
  readonly family: string;
  readonly port: number;
}

/**
 * Listeners only move bytes: they hand whole datagrams, or runs of complete lines, to a PacketHandler,
 * with the sender when they know it (UDP: the datagram's; TCP: the connection's peer; a server module:
 * the rinfo it passes).
 */
export type PacketHandler = (buf: Buffer, start: number, end: number, from?: PacketSender) => void;

export interface Listener {
  readonly kind: 'udp' | 'tcp' | 'module';
  /** Human-readable bound address, e.g. `udp 127.0.0.1:8125` or `tcp unix:/run/tallyd.sock`. */
  readonly description: string;
  /** Bound port (0 for a Unix socket). */
  readonly port: number;
  /** Stop receiving; resolves when the socket is closed. */
  close(): Promise<void>;
}
