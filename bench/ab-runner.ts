/**
 * The A/B runner the ab*.bench.ts files share: two builds (their dist/ directories) loaded in one
 * process, measured in interleaved rounds (A B, B A, A B, ...) after a warm-up, the median of each
 * side's rounds compared. Alternating in one process, on CPU time, compares like with like on a loaded
 * machine where the wall-clock benches swing by 2x from one run to the next.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Imports `path` (e.g. 'src/aggregator/aggregator.js') of the build in `distDir`. */
export async function importFrom<T>(distDir: string, path: string): Promise<T> {
  return (await import(pathToFileURL(resolve(distDir, path)).href)) as T;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The command line every A/B bench takes: `<base dist dir> [rounds] [new dist dir] ...rest`. */
export interface AbArgs {
  readonly baseDir: string;
  readonly rounds: number;
  /** The build being measured (default: this checkout's dist/). */
  readonly newDir: string;
  /** The bench's own arguments after those three. */
  readonly rest: readonly string[];
}

export function abArgs(script: string, defaultRounds: number): AbArgs {
  const baseDir = process.argv[2];
  if (baseDir === undefined) throw new Error(`usage: node dist/bench/${script} <base dist dir> [rounds] [new dist dir]`);
  return {
    baseDir,
    rounds: Number(process.argv[3] ?? defaultRounds),
    newDir: process.argv[4] ?? resolve(import.meta.dirname, '..'),
    rest: process.argv.slice(5),
  };
}

/** `warmup` rounds of each, then `rounds` interleaved rounds (A first on even rounds); the medians of each side. */
export function interleave(a: () => number, b: () => number, rounds: number, warmup: number): { a: number; b: number } {
  for (let i = 0; i < warmup; i++) {
    a();
    b();
  }
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      ra.push(a());
      rb.push(b());
    } else {
      rb.push(b());
      ra.push(a());
    }
  }
  return { a: median(ra), b: median(rb) };
}

/** Runs `main` when `moduleUrl` is the script node was started with; a failure sets the exit code. */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href) {
    main().catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  }
}
