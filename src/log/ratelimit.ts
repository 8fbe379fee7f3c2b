/**
 * Logging that cannot flood: the first occurrence is logged at once, then at most one summary line
 * per window with how many were suppressed (gostatsd's badLineLimiter, Telegraf's first-and-every-Nth).
 */
export class LogLimiter {
  private windowStart = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this occurrence should be logged; `suppressedSince()` then says how many were not. */
  take(): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      return true;
    }
    this.suppressed++;
    return false;
  }

  /** Occurrences not logged since the last one that was; resets the count. */
  suppressedSince(): number {
    const n = this.suppressed;
    this.suppressed = 0;
    return n;
  }
}
