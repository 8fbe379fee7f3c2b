/**
 * `--allow-js-config`: evaluate a config file as the original statsd does (`config = <file>`), in a
 * **child process** with a hard time limit, never in the daemon itself.
 *
 * node:vm alone is no sandbox: `require.constructor('return process')()` reached the daemon's own
 * `process` (and child_process through it), and a promise that spun forever hung start-up despite
 * vm's 1 s timeout (issue 9). Now:
 * - the file runs in `node --experimental-permission` (Node's permission model: no file system
 *   access, no child processes, no worker threads, no native addons), in node:vm with `require`
 *   limited to `os` and `process.env` a copy of the daemon's environment, microtasks included in
 *   vm's time limit ({@link JS_CONFIG_TIMEOUT_MS});
 * - the child is killed (SIGKILL) after {@link JS_CONFIG_HARD_TIMEOUT_MS}, whatever it is doing;
 * - only plain data comes back (v8 serialisation, checked again here); a function, a class
 *   instance or a changed prototype is a problem naming the key.
 * The child still runs as the daemon's user, and Node 20's permission model does not restrict the
 * network: the README says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { deserialize } from 'node:v8';
import { ConfigError } from '../errors.js';

/** Time limit of the file's own evaluation in the child (synchronous code and its microtasks), ms. */
export const JS_CONFIG_TIMEOUT_MS = 1000;
/** The child is killed after this, ms (its start-up included; covers what vm's limit cannot). */
export const JS_CONFIG_HARD_TIMEOUT_MS = 5000;
/** The largest answer read back from the child. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * The child's program (CommonJS, run with `node -e`: no file to read, so the permission model can
 * deny every file). Reads `{ body, name, env, timeoutMs }` as JSON on stdin, writes one v8-serialised
 * `{ data }`, `{ problems }` or `{ error }` on stdout, and exits at once (pending callbacks never run).
 */
const CHILD_SOURCE = `'use strict';
const vm = require('node:vm');
const os = require('node:os');
const v8 = require('node:v8');
const fs = require('node:fs');
let out;
try {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  const limitedRequire = (id) => {
    if (id === 'os' || id === 'node:os') return os;
    throw new Error("require('" + id + "') is not available in a config file (only 'os')");
  };
  const sandbox = { require: limitedRequire, process: { env: input.env }, config: undefined };
  const ctx = vm.createContext(sandbox, { microtaskMode: 'afterEvaluate' });
  const objectProto = vm.runInContext('Object.prototype', ctx);
  const arrayProto = vm.runInContext('Array.prototype', ctx);
  const result = vm.runInContext('config = ' + input.body, ctx, { filename: input.name, timeout: input.timeoutMs });
  const problems = [];
  const plain = (value, path) => {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    const at = path === '' ? '(top level)' : path;
    if (typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value)) {
        if (proto !== arrayProto) problems.push("config key '" + at + "': a list with a changed prototype is not a config value");
        return value.map((v, i) => plain(v, path + '[' + i + ']'));
      }
      if (proto !== objectProto && proto !== null) {
        problems.push("config key '" + (path === '' ? '' : path + '.') + "__proto__': an object with a changed prototype (or a class instance) is not a config value");
        return undefined;
      }
      const o = {};
      for (const key of Object.keys(value)) {
        const v = plain(value[key], path === '' ? key : path + '.' + key);
        if (v !== undefined) Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    if (value === undefined) return undefined;
    problems.push("config key '" + at + "': a " + typeof value + ' is not a config value');
    return undefined;
  };
  const data = plain(result, '');
  out = problems.length > 0 ? { problems } : { data };
} catch (err) {
  const m = err !== null && typeof err === 'object' && typeof err.message === 'string' ? err.message : String(err);
  out = { error: m };
}
fs.writeSync(1, v8.serialize(out));
process.exit(0);
`;

/** Node's permission-model flag (renamed `--permission` in later Node versions). */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}

function childArgs(): string[] {
  return [permissionFlag(), '--no-warnings', '-e', CHILD_SOURCE];
}

function childInput(body: string, name: string): string {
  return JSON.stringify({ body, name, env: { ...process.env }, timeoutMs: JS_CONFIG_TIMEOUT_MS });
}

/** What the child answered → the config object, or a ConfigError. */
function fromAnswer(
  name: string,
  stdout: Buffer,
  stderr: string,
  status: number | null,
  timedOut: boolean,
): Record<string, unknown> | unknown {
  if (timedOut) {
    throw new ConfigError(
      `${name}: evaluating the config file did not finish within ${JS_CONFIG_HARD_TIMEOUT_MS / 1000} s; it was stopped`,
    );
  }
  let answer: unknown;
  try {
    answer = stdout.length > 0 ? deserialize(stdout) : undefined;
  } catch {
    answer = undefined;
  }
  if (answer === null || typeof answer !== 'object') {
    const why = stderr.trim().split('\n')[0] ?? '';
    throw new ConfigError(`${name}: evaluating the config file failed (exit code ${String(status)})${why === '' ? '' : `: ${why}`}`);
  }
  const a = answer as { data?: unknown; problems?: unknown; error?: unknown };
  if (typeof a.error === 'string') throw new ConfigError(`${name}: evaluating the config file failed: ${a.error}`);
  if (Array.isArray(a.problems)) throw new ConfigError(a.problems.map((p) => `${name}: ${String(p)}`));
  const problems: string[] = [];
  checkPlain(a.data, '', problems);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${name}: ${p}`));
  return a.data;
}

/** Plain data only (what a JSON-like config can hold, plus ±Infinity and NaN numbers). */
function checkPlain(value: unknown, path: string, problems: string[]): void {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return;
  const at = path === '' ? '(top level)' : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkPlain(value[i], `${path}[${i}]`, problems);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const key of Object.keys(value))
      checkPlain((value as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`, problems);
    return;
  }
  problems.push(`config key '${at}': not a config value`);
}

/** Evaluates `body` in the child, waiting for it (start-up, --check-config and unit tests). */
export function evaluateJsConfigSync(body: string, name: string): unknown {
  const r = spawnSync(process.execPath, childArgs(), {
    input: childInput(body, name),
    env: {},
    timeout: JS_CONFIG_HARD_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_ANSWER_BYTES,
    windowsHide: true,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error !== undefined && !timedOut) {
    throw new ConfigError(`${name}: cannot run the config file's evaluation: ${r.error.message}`, { cause: r.error });
  }
  return fromAnswer(name, r.stdout ?? Buffer.alloc(0), r.stderr?.toString('utf8') ?? '', r.status, timedOut);
}

/** Evaluates `body` in the child without blocking the event loop (reloads: ingest goes on meanwhile). */
export function evaluateJsConfigAsync(body: string, name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, childArgs(), { env: {}, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, JS_CONFIG_HARD_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length;
      if (outBytes > MAX_ANSWER_BYTES) child.kill('SIGKILL');
      else out.push(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      if (err.length < 4096) err += c;
    });
    child.stdin.on('error', () => undefined); // a child that exits early: its status says why
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ConfigError(`${name}: cannot run the config file's evaluation: ${e.message}`, { cause: e }));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      try {
        resolve(fromAnswer(name, Buffer.concat(out), err, status, timedOut));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(childInput(body, name));
  });
}
