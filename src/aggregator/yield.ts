/**
 * How sliced flush work (aggregator compute, Graphite formatting, the Prometheus fold) gives the
 * event loop back to ingest between slices.
 *
 * One event-loop turn reads at most 32 datagrams per UDP socket with Node's dgram (libuv's recv loop)
 * and at most 16 recvmmsg batches of 64 with the native reader (src/native/udp_recv.c,
 * MAX_BATCHES_PER_EVENT), so with dgram a single setImmediate between 5 ms slices would cap ingest at
 * 32 packets per 5 ms (~6k/s) while a flush runs. When the daemon registers an ingest probe (a running
 * packet count), {@link yieldToIngest} keeps yielding while the last turn read BUSY_PACKETS_PER_TURN
 * packets or more (the socket has a backlog), up to MAX_BUSY_TURNS turns, so the flush takes a bounded
 * share of the loop and still finishes.
 */

/** Packets read in one turn from which the socket is taken as backlogged (half of dgram's 32 per turn). */
export const BUSY_PACKETS_PER_TURN = 16;
/** Extra turns given to ingest after a slice at most (the flush keeps at least ~1/5 of the loop). */
export const MAX_BUSY_TURNS = 16;

let probe: (() => number) | null = null;
let lastSeen = 0;

/** Registers (or clears) the running packet count that tells whether ingest is backlogged. */
export function setIngestProbe(fn: (() => number) | null): void {
  probe = fn;
  lastSeen = fn === null ? 0 : fn();
}

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Yield one event-loop turn, and more (bounded) while ingest has a backlog. */
export async function yieldToIngest(): Promise<void> {
  await nextTurn();
  const p = probe;
  if (p === null) return;
  for (let i = 0; i < MAX_BUSY_TURNS; i++) {
    const n = p();
    const busy = n - lastSeen >= BUSY_PACKETS_PER_TURN;
    lastSeen = n;
    if (!busy) return;
    await nextTurn();
  }
  lastSeen = p();
}
