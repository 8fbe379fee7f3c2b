/**
 * The original statsd's `keyFlush`: every `interval` ms, the most frequent keys of that interval as
 * `<date> count=N key=K` lines (the top `percent` %), appended to `log` or written to stdout; the
 * counts are then cleared. The per-key hit counts live in the aggregator (one typed-array increment
 * per line, only when keyFlush is on).
 */
import { appendFile } from 'node:fs';
import type { Logger } from 'pino';

export interface KeyFlushSettings {
  readonly interval: number;
  readonly percent: number;
  readonly log: string | undefined;
}

/** The report text for one interval: `entries` sorted most frequent first. Pure (tests call it). */
export function formatKeyFlush(entries: ReadonlyArray<readonly [string, number]>, percent: number, date: Date): string {
  const when = String(date);
  const n = Math.ceil(entries.length * (percent / 100));
  let out = '';
  for (let i = 0; i < n && i < entries.length; i++) out += `${when} count=${entries[i]![1]} key=${entries[i]![0]}\n`;
  return out;
}

export class KeyFlusher {
  private handle: NodeJS.Timeout | null = null;

  constructor(
    private readonly settings: KeyFlushSettings,
    private readonly take: () => Array<[string, number]>,
    private readonly log: Logger,
    private readonly write: (text: string) => void = (t) => {
      process.stdout.write(t);
    },
  ) {}

  start(): void {
    if (this.settings.interval <= 0 || this.handle !== null) return;
    this.handle = setInterval(() => this.tick(), this.settings.interval);
    this.handle.unref();
  }

  stop(): void {
    if (this.handle !== null) clearInterval(this.handle);
    this.handle = null;
  }

  /** One report (exported for tests). */
  tick(now: Date = new Date()): void {
    const text = formatKeyFlush(this.take(), this.settings.percent, now);
    if (text === '') return;
    const file = this.settings.log;
    if (file === undefined) {
      this.write(text);
      return;
    }
    appendFile(file, text, (err) => {
      if (err) this.log.warn({ err, file }, 'keyFlush: could not append to the log file');
    });
  }
}
