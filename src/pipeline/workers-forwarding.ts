/**
 * Packets the workers forward to the primary for npm backends that listen to 'packet' (with
 * `workers` > 1): whether they forward (the cap they are told), and handing each batch to those
 * backends. The workers send batches (../cluster/worker-forward.ts), bounded by
 * workerPacketForwardBytes per worker. Used by ./ingest-workers.ts.
 */
import type { Logger } from 'pino';
import type { Backend } from '../backends/types.js';
import { type PacketBatch, readPacketBatch } from '../cluster/worker-forward.js';

export class PacketForwarding {
  /** The backends in force, and those of them that take the workers' forwarded packets now. */
  private backends: readonly Backend[] = [];
  private hooks: Backend[] = [];
  /** The forwarding cap the workers were told (0: they forward nothing). */
  cap = 0;
  /** Packets the workers forwarded and this process handed to npm backends, since start. */
  forwarded = 0;

  constructor(
    private readonly log: Logger,
    /** workerPacketForwardBytes of the config in force. */
    private readonly capBytes: () => number,
    /** Tell every running worker a new cap. */
    private readonly tell: (capBytes: number) => void,
  ) {}

  setBackends(backends: readonly Backend[]): void {
    this.backends = backends;
    this.update();
  }

  /**
   * Tells the workers to forward packets (or to stop) when whether a backend wants them changed: at
   * start, after a reload, and at each flush (a plug-in may add its 'packet' listener after init).
   */
  update(): void {
    this.hooks = this.backends.filter((b) => b.wantsForwardedPackets?.() === true && typeof b.packet === 'function');
    const cap = this.hooks.length > 0 ? this.capBytes() : 0;
    if (cap === this.cap) return;
    const was = this.cap;
    this.cap = cap;
    if (cap > 0 && was === 0) {
      this.log.info(
        { backends: this.hooks.map((b) => b.name), capBytes: cap },
        "an npm backend listens to 'packet': the workers forward every packet to the primary",
      );
    } else if (cap === 0) {
      const why = this.hooks.length > 0 ? 'workerPacketForwardBytes is 0' : "no npm backend listens to 'packet'";
      this.log.info(`${why}: the workers forward no packets`);
    }
    this.tell(cap);
  }

  /** At start, once the backends started (npm backends' init ran): forwarding from the workers' first packet. */
  start(): void {
    this.update();
    if (this.cap === 0 && this.hooks.length > 0)
      this.log.warn("workerPacketForwardBytes is 0: npm backends get no 'packet' events with workers > 1");
  }

  /** A worker's batch of packets: to every npm backend that listens to 'packet'. */
  emit(m: PacketBatch): void {
    const hooks = this.hooks;
    // (forwarding was just switched off: the workers' last batches go nowhere)
    if (hooks.length === 0) return;
    const buf = Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength);
    this.forwarded += readPacketBatch(buf, (b, start, end, from) => {
      for (let i = 0; i < hooks.length; i++) hooks[i]!.packet!(b, start, end, from);
    });
  }
}
