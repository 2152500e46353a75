/**
 * Every timestamp form GitLab and GitHub send: ISO 8601 with or without fractional seconds
 * (`2021-02-23T02:41:37.886Z`), `2016-08-12 15:23:28 UTC` (Pipeline Hooks) and
 * `2021-04-28 21:50:00 +0200` (Deployment Hooks). Returns unix seconds, keeping the fraction,
 * or undefined for null, empty or unreadable values.
 */
const FORM = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i;

export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  return plainSeconds(value) ?? generalSeconds(value);
}

/** @internal Every form, through the regular expression (what the plain path must agree with). */
export function generalSeconds(value: string): number | undefined {
  const match = FORM.exec(value.trim());
  if (match === null) return undefined;
  const [, date, time, fraction, zone] = match;
  let offset = 'Z';
  if (zone !== undefined && zone.toUpperCase() !== 'Z' && zone.toUpperCase() !== 'UTC') {
    offset = zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  }
  const ms = Date.parse(`${date}T${time}${offset}`);
  if (Number.isNaN(ms)) return undefined;
  return ms / 1000 + (fraction === undefined ? 0 : Number(`0${fraction}`));
}

const DASH = 45;
const COLON = 58;
const T = 84;
const Z = 90;
const DOT = 46;
const SPACE = 32;

/** The digits of `v` from `at`, `length` of them, as a number; -1 if one is not a digit. */
function digits(v: string, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The plain forms GitLab and GitHub send most, read without a regular expression or a second
 * string (several in every webhook): `YYYY-MM-DDTHH:MM:SSZ` (GitHub), `YYYY-MM-DDTHH:MM:SS.fffZ`
 * and `YYYY-MM-DD HH:MM:SS UTC` (GitLab). Fields out of the usual ranges, and every other form,
 * are left to the general path, so both give the same answers.
 */
function plainSeconds(v: string): number | undefined {
  if (v.charCodeAt(4) !== DASH || v.charCodeAt(7) !== DASH) return undefined;
  if (v.charCodeAt(13) !== COLON || v.charCodeAt(16) !== COLON) return undefined;
  let fraction = 0;
  if (v.length === 20) {
    if (v.charCodeAt(10) !== T || v.charCodeAt(19) !== Z) return undefined;
  } else if (v.length === 24) {
    if (v.charCodeAt(10) !== T || v.charCodeAt(19) !== DOT || v.charCodeAt(23) !== Z) return undefined;
    const ms = digits(v, 20, 3);
    if (ms < 0) return undefined;
    fraction = ms / 1000;
  } else if (v.length === 23) {
    if (v.charCodeAt(10) !== SPACE || !v.endsWith(' UTC')) return undefined;
  } else return undefined;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  const hour = digits(v, 11, 2);
  const minute = digits(v, 14, 2);
  const second = digits(v, 17, 2);
  // Date.UTC reads years below 100 as 19xx; Date.parse does not.
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000 + fraction;
}
