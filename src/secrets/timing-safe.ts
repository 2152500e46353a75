import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * True when `given` equals one of `candidates`. Both sides are hashed first so that the
 * comparison takes the same time whatever the lengths, and every candidate is compared so
 * the time does not tell which one matched.
 */
export function matchesAny(given: string | undefined, candidates: readonly string[]): boolean {
  if (given === undefined || given === '' || candidates.length === 0) return false;
  const g = digest(given);
  let match = false;
  for (const candidate of candidates) {
    if (timingSafeEqual(g, digest(candidate))) match = true;
  }
  return match;
}

/** Splits a secret setting into its values: comma-separated, so two are valid during rotation. */
export function splitSecretList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
