import type { z } from 'zod';
import { InvalidPayloadError } from './invalid-payload-error.js';

/** Parses a payload with a schema, or throws InvalidPayloadError naming the first bad field. */
export function check<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new InvalidPayloadError(
    `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'does not fit the schema'}`,
  );
}
