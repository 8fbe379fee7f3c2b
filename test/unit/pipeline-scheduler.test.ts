import { describe, expect, it } from 'vitest';
import { BUSY_PACKETS_PER_TURN, MAX_BUSY_TURNS, Scheduler } from '../../src/pipeline/scheduler.js';

/** Event-loop turns that pass while `fn` runs (counted by a setImmediate probe). */
async function turnsDuring(fn: () => Promise<void>): Promise<number> {
  let turns = 0;
  let on = true;
  const tick = (): void => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  await fn();
  on = false;
  return turns;
}

describe('Scheduler.yieldToIngest', () => {
  it('yields one turn without a probe, or while ingest is quiet', async () => {
    const s = new Scheduler();
    expect(await turnsDuring(s.yieldToIngest)).toBeLessThanOrEqual(2);
    let packets = 0;
    s.setIngestProbe(() => packets);
    packets += 3; // below the busy mark
    expect(await turnsDuring(s.yieldToIngest)).toBeLessThanOrEqual(2);
  });

  it('keeps yielding (bounded) while every turn reads a near-full batch', async () => {
    const s = new Scheduler();
    let packets = 0;
    s.setIngestProbe(() => (packets += BUSY_PACKETS_PER_TURN * 2));
    const turns = await turnsDuring(s.yieldToIngest);
    expect(turns).toBeGreaterThanOrEqual(MAX_BUSY_TURNS);
    expect(turns).toBeLessThanOrEqual(MAX_BUSY_TURNS + 2);
  });

  it('is per instance: one pipeline’s probe does not make another’s work wait', async () => {
    const busy = new Scheduler();
    let packets = 0;
    busy.setIngestProbe(() => (packets += BUSY_PACKETS_PER_TURN * 2));
    const quiet = new Scheduler();
    expect(await turnsDuring(quiet.yieldToIngest)).toBeLessThanOrEqual(2);
    busy.setIngestProbe(null);
    expect(await turnsDuring(busy.yieldToIngest)).toBeLessThanOrEqual(2);
  });
});
