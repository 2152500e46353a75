import { hash, timingSafeEqual } from 'node:crypto';

export function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** `matchesAny` for a given value and candidates already hashed (see Secrets.digests). */
export function matchesAnyDigest(given: Buffer | undefined, candidates: readonly Buffer[]): boolean {
  if (given === undefined || candidates.length === 0) return false;
  let match = false;
  for (const candidate of candidates) {
    if (timingSafeEqual(given, candidate)) match = true;
  }
  return match;
}

/**
 * True when `given` equals one of `candidates`. Both sides are hashed first so that the
 * comparison takes the same time whatever the lengths, and every candidate is compared so
 * the time does not tell which one matched.
 */
export function matchesAny(given: string | undefined, candidates: readonly string[]): boolean {
  if (given === undefined || given === '' || candidates.length === 0) return false;
  return matchesAnyDigest(digest(given), candidates.map(digest));
}

/**
 * Splits a secret setting into its values, so two are valid during rotation: separated by commas
 * or line breaks (a file in SECRETS_DIR may hold one value per line, LF or CRLF).
 */
export function splitSecretList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(/[,\r\n]/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
