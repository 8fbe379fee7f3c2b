/**
 * The key search's long poll (src/status/waits.ts) against a real aggregator fed real lines: a wait
 * ends when a matching key arrives (not another), a cursor from before a matching key answers at
 * once, and the aggregator's new-key hook is unset once no page has asked for a while (nothing is
 * done for the page when nobody looks).
 */
import { describe, expect, it } from 'vitest';
import { ARMED_SEARCHES, SEARCH_ARMED_MS, SearchWaits } from '../../../src/status/waits.js';
import { makeAggregator, send } from '../aggregator/helpers.js';

describe('SearchWaits', () => {
  const setup = () => {
    const agg = makeAggregator();
    let now = 1_000_000;
    const waits = new SearchWaits(agg, () => now);
    return { agg, waits, advance: (ms: number) => (now += ms), now: () => now };
  };
  const signal = () => new AbortController().signal;
  const settled = async (p: Promise<boolean>): Promise<boolean | 'pending'> =>
    Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 30))]);

  it('ends a wait when a matching key arrives, not for another key', async () => {
    const { agg, waits } = setup();
    send(agg, 'other.key:1|c');
    const cursor = waits.cursor;
    const p = waits.wait('pay.ok', cursor, 5000, signal());
    // (the first wait for a search arms it: a key bound before that is not known, so it waits from `cursor` on)
    send(agg, 'unrelated:1|c\npay.failed:1|ms');
    expect(await settled(p)).toBe('pending');
    send(agg, 'api.pay.ok:2|c|#region:eu');
    expect(await settled(p)).toBe(true);
    expect(waits.cursor).toBeGreaterThan(cursor);
  });

  it('answers at once for a cursor from before a matching key, or from another run', async () => {
    const { agg, waits } = setup();
    const c0 = waits.cursor;
    await settled(waits.wait('x.y', c0, 1, signal())); // arms x.y
    send(agg, 'x.y.z:1|c');
    expect(await settled(waits.wait('x.y', c0, 5000, signal()))).toBe(true);
    // a cursor taken after that key: waits
    expect(await settled(waits.wait('x.y', waits.cursor, 5000, signal()))).toBe('pending');
    // a cursor past the aggregator's count (the daemon restarted under the page): at once
    expect(await settled(waits.wait('x.y', waits.cursor + 100, 5000, signal()))).toBe(true);
  });

  it('resolves false when the client goes away, and the hook goes once no page asked for SEARCH_ARMED_MS', async () => {
    const { agg, waits, advance, now } = setup();
    expect(agg.onKeyBound).toBeNull();
    const gone = new AbortController();
    const p = waits.wait('q', waits.cursor, 5000, gone.signal);
    expect(agg.onKeyBound).not.toBeNull();
    gone.abort();
    expect(await p).toBe(false);
    advance(SEARCH_ARMED_MS - 1);
    waits.expire(now());
    expect(waits.armedCount).toBe(1);
    advance(1);
    waits.expire(now());
    expect(waits.armedCount).toBe(0);
    expect(agg.onKeyBound).toBeNull();
  });

  it(`keeps at most ${ARMED_SEARCHES} searches armed, the oldest disarmed (its waiting request answered)`, async () => {
    const { waits } = setup();
    const first = waits.wait('s0', waits.cursor, 5000, signal());
    for (let i = 1; i <= ARMED_SEARCHES; i++) void waits.wait(`s${i}`, waits.cursor, 1, signal());
    expect(waits.armedCount).toBe(ARMED_SEARCHES);
    expect(await settled(first)).toBe(true);
  });
});
