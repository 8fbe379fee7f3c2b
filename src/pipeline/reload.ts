/**
 * Configuration reload: on SIGHUP, and on a change of the config file while `automaticConfigReload`
 * is on (fs.watch on the file's directory, debounced). The file is read and validated exactly as at
 * start-up (same command-line overrides); a valid configuration is handed to the daemon, which applies
 * it without losing the interval's aggregates; an invalid one is refused with an ERROR log naming every
 * bad key, and the configuration in force stays. A reload never throws: what fails while applying a
 * valid file (a backend that cannot be built) is logged and refused too.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { validateBackendSections } from '../backends/registry.js';
import { buildConfig, type ConfigOverrides, describeConfig, readConfigFileAsync } from '../config/index.js';
import type { TallydConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';

/** Quiet time after the last file event before the file is read (editors write in several steps). */
export const RELOAD_DEBOUNCE_MS = 200;

export interface ReloadTarget {
  readonly currentConfig: TallydConfig;
  applyConfig(next: TallydConfig): Promise<string[]>;
  /** When the config is unchanged: backends re-read the files they name (Prometheus' mapping file). */
  refreshBackends?(): Promise<void>;
}

export interface ReloaderOptions {
  readonly configPath: string;
  readonly overrides: ConfigOverrides;
  readonly allowJs: boolean;
  readonly target: ReloadTarget;
  readonly log: Logger;
  readonly debounceMs?: number;
}

export type ReloadOutcome = 'applied' | 'unchanged' | 'refused';

export class ConfigReloader {
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  /** Reloads run one at a time; a request during one runs once more after it. */
  private running: Promise<ReloadOutcome> | null = null;
  private again = false;
  private closed = false;
  private readonly file: string;

  constructor(private readonly opts: ReloaderOptions) {
    this.file = resolve(opts.configPath);
  }

  /** Starts or stops watching the file to follow `automaticConfigReload` of the config in force. */
  syncWatch(): void {
    const on = this.opts.target.currentConfig.automaticConfigReload && !this.closed;
    if (on && this.watcher === null) this.startWatching();
    else if (!on && this.watcher !== null) this.stopWatching();
  }

  /** Re-reads the file and applies it (or refuses it); `reason` is logged. */
  reload(reason: string): Promise<ReloadOutcome> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<ReloadOutcome> => {
      let outcome: ReloadOutcome;
      do {
        this.again = false;
        outcome = await this.reloadOnce(reason);
      } while (this.again && !this.closed);
      return outcome;
    };
    this.running = run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    this.stopWatching();
  }

  private async reloadOnce(reason: string): Promise<ReloadOutcome> {
    const log = this.opts.log;
    let next: TallydConfig;
    let warnings: string[];
    try {
      const raw = await readConfigFileAsync(this.opts.configPath, { allowJs: this.opts.allowJs });
      const built = buildConfig(raw, this.opts.overrides, this.opts.configPath, undefined, validateBackendSections);
      next = built.config;
      warnings = built.warnings;
    } catch (err) {
      const problems = err instanceof ConfigError ? [...err.problems] : [(err as Error)?.message ?? String(err)];
      log.error(
        { reason, file: this.opts.configPath, problems },
        `config reload refused, keeping the current configuration: ${problems.join('; ')}`,
      );
      return 'refused';
    }
    for (const w of warnings) log.warn({ file: this.opts.configPath }, `config: ${w}`);
    if (describeConfig(next) === describeConfig(this.opts.target.currentConfig)) {
      await this.opts.target.refreshBackends?.();
      log.info({ reason, file: this.opts.configPath }, 'config reload: nothing changed');
      return 'unchanged';
    }
    let changed: string[];
    try {
      changed = await this.opts.target.applyConfig(next);
    } catch (err) {
      // e.g. a backend whose constructor throws (a mapping file that became unreadable since it was
      // validated): the daemon refuses the reload and keeps running (issue 12)
      const message = (err as Error)?.message ?? String(err);
      log.error(
        { reason, file: this.opts.configPath, err },
        `config reload failed while applying it, keeping the current configuration: ${message}`,
      );
      return 'refused';
    }
    log.info({ reason, file: this.opts.configPath, changed }, 'config reloaded');
    this.syncWatch();
    return 'applied';
  }

  private startWatching(): void {
    // The directory, not the file: editors and config managers often replace the file (rename),
    // which a watch on the old inode would miss.
    const dir = dirname(this.file);
    const name = basename(this.file);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && filename.toString() !== name) return;
        this.schedule();
      });
      this.watcher.on('error', (err) => {
        this.opts.log.warn({ err, file: this.file }, 'config file watch failed: automatic reload is off (SIGHUP still works)');
        this.stopWatching();
      });
      this.opts.log.info({ file: this.file }, 'watching the config file for changes');
    } catch (err) {
      this.opts.log.warn({ err, file: this.file }, 'cannot watch the config file: automatic reload is off (SIGHUP still works)');
      this.watcher = null;
    }
  }

  private stopWatching(): void {
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = null;
    this.watcher?.close();
    this.watcher = null;
  }

  private schedule(): void {
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.reload('file change').catch((err: unknown) =>
        this.opts.log.error({ err }, 'config reload failed, keeping the current configuration'),
      );
    }, this.opts.debounceMs ?? RELOAD_DEBOUNCE_MS);
    this.debounce.unref();
  }
}
