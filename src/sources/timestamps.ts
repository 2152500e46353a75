/**
 * Every timestamp form GitLab and GitHub send: ISO 8601 with or without fractional seconds
 * (`2021-02-23T02:41:37.886Z`), `2016-08-12 15:23:28 UTC` (Pipeline Hooks) and
 * `2021-04-28 21:50:00 +0200` (Deployment Hooks). Returns unix seconds, keeping the fraction,
 * or undefined for null, empty or unreadable values.
 */
const FORM = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i;

export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
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
