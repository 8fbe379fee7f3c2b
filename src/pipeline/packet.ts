/**
 * The packet path's entry, the same in the single process and in each cluster worker: the backends
 * that want raw packets (the repeater) get the bytes first, then the packet guard (./guard.ts)
 * parses and aggregates them. Nothing throws out of it: one try/catch per packet, not per line.
 */
import type { Logger } from 'pino';
import type { Backend } from '../backends/types.js';
import type { PacketHandler } from '../listeners/types.js';
import type { PacketGuard } from './guard.js';

/** The packet path's switches, read per packet (a reload or stop changes them in place). */
export interface PacketPathState {
  /** Input after the stop began is ignored (the final interval is being flushed). */
  stopped: boolean;
  /** Backends with a packet() hook (and, in a cluster worker, the forwarder to the primary's npm backends), kept apart so the hot path loops over few. */
  packetBackends: readonly Pick<Backend, 'packet'>[];
  /** The original's dumpMessages: each packet logged at INFO. */
  dumpMessages: boolean;
}

/** One closure per process, not per packet. */
export function createPacketHandler(guard: PacketGuard, state: PacketPathState, log: Logger): PacketHandler {
  return (buf, start, end, from) => {
    if (state.stopped) return;
    try {
      guard.begin();
      const pb = state.packetBackends;
      for (let i = 0; i < pb.length; i++) pb[i]!.packet!(buf, start, end, from);
      if (state.dumpMessages) log.info({ packet: buf.toString('utf8', start, end) }, 'message');
      guard.ingest(buf, start, end);
    } catch (err) {
      guard.recover(err, buf, start, end);
    }
  };
}
