import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Settings as the process sees them: plain strings keyed by variable name. */
export type Settings = Readonly<Record<string, string | undefined>>;

const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * Reads `SECRETS_DIR`: one file per variable, named like it (Vault Agent templates and
 * Kubernetes secret volumes deliver settings this way). Hidden entries such as the `..data`
 * symlink of a Kubernetes volume are skipped. Trailing whitespace (the newline editors add)
 * is not part of the value.
 */
export function readSecretsDir(dir: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    if (!VARIABLE_NAME.test(name)) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      values.set(name, readFileSync(path, 'utf8').trim());
    } catch {
      // A file removed between readdir and read is simply gone: the next reload settles it.
    }
  }
  return values;
}

/**
 * The environment with `SECRETS_DIR` laid over it. A file wins over a variable of the same
 * name, because the file is what a secret rotation updates.
 */
export function mergeSettings(env: Settings, dirValues: ReadonlyMap<string, string>): Settings {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [name, value] of dirValues) merged[name] = value;
  return merged;
}
