/** Listeners only move bytes: they hand whole datagrams, or runs of complete lines, to a PacketHandler. */
export type PacketHandler = (buf: Buffer, start: number, end: number) => void;

export interface Listener {
  readonly kind: 'udp' | 'tcp' | 'module';
  /** Human-readable bound address, e.g. `udp 127.0.0.1:8125` or `tcp unix:/run/tallyd.sock`. */
  readonly description: string;
  /** Bound port (0 for a Unix socket). */
  readonly port: number;
  /** Stop receiving; resolves when the socket is closed. */
  close(): Promise<void>;
}
