/**
 * The knee finder: step the offered rate up by a factor until a step loses data, retry a losing
 * step once (a noisy neighbour can spoil one), optionally bisect between the last clean rate and
 * the first lossy one, and report the highest rate without loss. Bounded in steps and time.
 */

/** A step is "no loss" when received >= sent × (1 − LOSS_TOLERANCE): 0.01 %. */
export const LOSS_TOLERANCE = 0.0001;

export function isNoLoss(sent: number, received: number): boolean {
  return received >= sent * (1 - LOSS_TOLERANCE);
}

export interface StepOutcome {
  /** Packets/s asked of the generator. */
  targetRate: number;
  /** Packets/s it achieved. */
  achievedRate: number;
  /** Units compared (lines or counter lines): sent and received. */
  sent: number;
  received: number;
  ok: boolean;
  /** CPU cores the receiver used while the generator ran, or null. */
  cpuCores: number | null;
  /** Growth of RcvbufErrors (all UDP sockets) over the step, or null. */
  kernelDrops: number | null;
}

export interface KneeOptions {
  /** First rate tried, packets/s. */
  startRate: number;
  /** Multiplier between steps, e.g. 1.25. */
  factor: number;
  /** Never ask for more than this, packets/s. */
  maxRate: number;
  /** Never go below this when the first steps lose. */
  minRate: number;
  maxSteps: number;
  /** Stop stepping up after this much wall time, ms. */
  budgetMs: number;
  /** Bisection steps after the first lossy rate (each halves the gap, geometrically). */
  refine: number;
}

export type KneeLimit = 'loss' | 'generator' | 'max-rate' | 'budget' | 'max-steps' | 'min-rate';

export interface KneeResult {
  /** Highest achieved rate (packets/s) of a step with no loss; null when none was clean. */
  knee: number | null;
  kneeStep: StepOutcome | null;
  /** What ended the climb: loss (the real knee), or a bound (then the knee is a lower bound). */
  limitedBy: KneeLimit;
  steps: StepOutcome[];
}

/**
 * The first rate of a ladder that passes exactly through `anchor` (anchor / factor^k, the smallest
 * such value >= minStart), so that one step lands on a target rate.
 */
export function ladderStart(anchor: number, factor: number, minStart: number): number {
  let r = anchor;
  while (r / factor >= minStart) r /= factor;
  return r;
}

export async function findKnee(
  o: KneeOptions,
  step: (rate: number) => Promise<StepOutcome>,
  onStep?: (s: StepOutcome) => void,
): Promise<KneeResult> {
  const steps: StepOutcome[] = [];
  const deadline = Date.now() + o.budgetMs;
  const run = async (rate: number): Promise<StepOutcome> => {
    const s = await step(rate);
    steps.push(s);
    onStep?.(s);
    return s;
  };
  let good: StepOutcome | null = null;
  let badRate: number | null = null;
  let limitedBy: KneeLimit = 'max-steps';
  let rate = o.startRate;
  let retried = false;
  while (steps.length < o.maxSteps) {
    if (Date.now() > deadline) {
      limitedBy = 'budget';
      break;
    }
    const s = await run(rate);
    if (s.ok) {
      if (good === null || s.achievedRate > good.achievedRate) good = s;
      retried = false;
      if (s.achievedRate < 0.95 * rate) {
        limitedBy = 'generator'; // the sender, not the receiver, is the limit
        break;
      }
      if (rate * o.factor > o.maxRate) {
        limitedBy = 'max-rate';
        break;
      }
      rate *= o.factor;
      continue;
    }
    if (!retried) {
      retried = true;
      continue;
    }
    retried = false;
    badRate = rate;
    limitedBy = 'loss';
    if (good !== null) break;
    // Nothing clean yet: step down.
    rate /= o.factor * o.factor;
    if (rate < o.minRate) {
      limitedBy = 'min-rate';
      break;
    }
  }
  if (limitedBy === 'loss' && good !== null && badRate !== null) {
    let lo = good.targetRate;
    let hi = badRate;
    for (let i = 0; i < o.refine && steps.length < o.maxSteps + o.refine; i++) {
      const mid = Math.sqrt(lo * hi);
      if (mid <= lo * 1.01) break;
      const s = await run(mid);
      if (s.ok) {
        if (s.achievedRate > good.achievedRate) good = s;
        lo = mid;
      } else hi = mid;
    }
  }
  return { knee: good?.achievedRate ?? null, kneeStep: good, limitedBy, steps };
}
