import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_PACKETS_PER_TURN, MAX_BUSY_TURNS, setIngestProbe, yieldToIngest } from '../../../src/aggregator/yield.js';

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

describe('yieldToIngest', () => {
  afterEach(() => setIngestProbe(null));

  it('yields one turn without a probe, or while ingest is quiet', async () => {
    expect(await turnsDuring(() => yieldToIngest())).toBeLessThanOrEqual(2);
    let packets = 0;
    setIngestProbe(() => packets);
    packets += 3; // below the busy mark
    expect(await turnsDuring(() => yieldToIngest())).toBeLessThanOrEqual(2);
  });

  it('keeps yielding (bounded) while every turn reads a near-full batch', async () => {
    let packets = 0;
    setIngestProbe(() => (packets += BUSY_PACKETS_PER_TURN * 2));
    const turns = await turnsDuring(() => yieldToIngest());
    expect(turns).toBeGreaterThanOrEqual(MAX_BUSY_TURNS);
    expect(turns).toBeLessThanOrEqual(MAX_BUSY_TURNS + 2);
  });
});
