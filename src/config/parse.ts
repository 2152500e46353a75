/** Small parsers for settings. Each returns a value or a message saying what to fix. */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (message: string): Parsed<never> => ({ ok: false, message });

export interface ListenAddress {
  readonly host: string | undefined;
  readonly port: number;
}

/** `:2112`, `0.0.0.0:2112`, `[::1]:2112`, `localhost:0`. */
export function parseListenAddress(value: string): Parsed<ListenAddress> {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65535)
    return bad(`'${value}' is not host:port (for example :2112 or 127.0.0.1:2112)`);
  const host = match[1] ?? match[2];
  return ok({ host: host === '' || host === undefined ? undefined : host, port });
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Go-style durations: `24h`, `90m`, `1h30m`, `7d`. Returns seconds. */
export function parseDuration(value: string, max?: { seconds: number; says: string }): Parsed<number> {
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/.test(value)
    ? value.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d|w)/g)
    : null;
  if (parts === null) return bad(`'${value}' is not a duration (for example 24h, 90m, 1h30m, 7d)`);
  let seconds = 0;
  for (const part of parts) {
    const [, num, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(part) ?? [];
    seconds += Number(num) * (DURATION_UNITS[unit ?? 's'] ?? 1);
  }
  if (max !== undefined && !(seconds <= max.seconds)) return bad(`'${value}' is longer than ${max.says}`);
  return seconds > 0 ? ok(seconds) : bad(`'${value}' must be longer than zero`);
}

/** A plain decimal number (`5`, `0.5`; not `1e-3`, `0x10`) from `min` to `max`. */
export function parseDecimal(value: string, min: number, max: number): Parsed<number> {
  const n = Number(value);
  return /^\d+(?:\.\d+)?$/.test(value.trim()) && n >= min && n <= max
    ? ok(n)
    : bad(`'${value}' is not a decimal number from ${min} to ${max} (for example 5 or 0.5)`);
}

/** A whole number from 0 to `max`, or `auto` (then `auto` is returned as undefined). */
export function parseThreadCount(value: string, max: number): Parsed<number | undefined> {
  if (value === 'auto') return ok(undefined);
  return /^\d+$/.test(value) && Number(value) <= max
    ? ok(Number(value))
    : bad(`'${value}' is not 'auto' or a whole number from 0 to ${max}`);
}

/** A URL as text without the user and password before its host, even one that does not parse. */
export function withoutUserinfo(value: string): string {
  return value.replace(/\/\/[^/]*@/, '//[redacted]@');
}

export function parseUrl(value: string, schemes: readonly string[]): Parsed<URL> {
  try {
    const url = new URL(value);
    if (!schemes.includes(url.protocol))
      return bad(`'${url.protocol}' URLs are not accepted (use ${schemes.join(' or ')})`);
    return ok(url);
  } catch {
    return bad(`'${withoutUserinfo(value)}' is not a URL`);
  }
}

export function parseRegExp(value: string): Parsed<RegExp> {
  try {
    return ok(new RegExp(value));
  } catch (err) {
    return bad(`'${value}' is not a regular expression: ${(err as Error).message}`);
  }
}

/** A comma-separated list, blanks dropped. */
/** A list setting: comma-separated, or one entry per line (a file in SECRETS_DIR). */
export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\r\n]/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const upperSnakes = new Map<string, string>();
const MAX_UPPER_SNAKES = 10_000;

/** `acme/payments-api` -> `ACME_PAYMENTS_API`: how project and group paths name settings. */
export function toUpperSnake(path: string): string {
  let key = upperSnakes.get(path);
  if (key === undefined) {
    key = path.replace(/[^a-zA-Z0-9]+/g, '_').toUpperCase();
    // Paths come from webhook bodies (several per webhook): kept, but bounded.
    if (upperSnakes.size >= MAX_UPPER_SNAKES) upperSnakes.clear();
    upperSnakes.set(path, key);
  }
  return key;
}
