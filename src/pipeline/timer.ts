/**
 * The flush schedule. Like the original, flushes fall on startup_time + k × interval (startup
 * time in whole seconds) and each timeout is recomputed from the clock, so the schedule does not
 * drift however long a flush takes.
 */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** ms until the next flush boundary after `nowMs` (the original's getFlushTimeout). */
export function nextFlushDelay(nowMs: number, startupSec: number, intervalMs: number): number {
  const delta = nowMs - startupSec * 1000;
  const attempt = Math.round(delta / intervalMs) + 1;
  return startupSec * 1000 + attempt * intervalMs - nowMs;
}

export class FlushTimer {
  private handle: NodeJS.Timeout | null = null;

  constructor(
    private intervalMs: number,
    private readonly startupSec: number,
    private readonly onTick: () => void,
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    this.schedule();
  }

  /** A new interval applies from the next tick (config reload). */
  setInterval(intervalMs: number): void {
    this.intervalMs = intervalMs;
    if (this.handle !== null) {
      clearTimeout(this.handle);
      this.schedule();
    }
  }

  stop(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
  }

  private schedule(): void {
    const delay = nextFlushDelay(this.clock.now(), this.startupSec, this.intervalMs);
    this.handle = setTimeout(() => {
      this.handle = null;
      try {
        this.onTick();
      } finally {
        // rescheduled after the tick, as the original: latency absorbs negative clock skew
        if (this.handle === null) this.schedule();
      }
    }, delay);
  }
}
