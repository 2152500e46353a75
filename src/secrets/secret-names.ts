import { toUpperSnake } from '../config/parse.js';

/** Names of settings whose values are secrets: never printed, never logged. */
export const SECRET_SETTINGS = [
  'AUTH_TOKEN',
  'METRICS_TOKEN',
  'GITLAB_TOKEN',
  'GITHUB_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
  'REDIS_URL',
  // Collectors take an API key or bearer token in a header (`authorization=Bearer …`).
  'OTEL_EXPORTER_OTLP_HEADERS',
] as const;
export const SECRET_PREFIXES = [
  'GITLAB_WEBHOOK_TOKEN_',
  'GITHUB_WEBHOOK_SECRET_',
  'PROM_GROUP_TOKEN_',
] as const;

export function isSecretSetting(name: string): boolean {
  return (
    (SECRET_SETTINGS as readonly string[]).includes(name) || SECRET_PREFIXES.some((p) => name.startsWith(p))
  );
}

/**
 * For a `<PREFIX><KEY>` setting whose KEY is not upper snake case (`PROM_GROUP_TOKEN_acme`), the
 * name it should have (`PROM_GROUP_TOKEN_ACME`): lookups use `toUpperSnake` of the path, so such
 * a setting could never match. Undefined for any other name.
 */
export function upperSnakeName(name: string): string | undefined {
  const prefix = SECRET_PREFIXES.find((p) => name.startsWith(p) && name.length > p.length);
  if (prefix === undefined) return undefined;
  const key = name.slice(prefix.length);
  return /^[A-Z0-9_]+$/.test(key) ? undefined : prefix + toUpperSnake(key);
}
