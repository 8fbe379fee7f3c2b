/** An error as one short line for the status page: its code and message (`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:2003`). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 300);
  const code = (err as NodeJS.ErrnoException).code;
  const msg = err.message === '' ? err.name : err.message;
  return (code !== undefined && !msg.includes(code) ? code + ': ' + msg : msg).slice(0, 300);
}
