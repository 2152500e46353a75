import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Settings as the process sees them: plain strings keyed by variable name. */
export type Settings = Readonly<Record<string, string | undefined>>;

const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;

/** What a read of `SECRETS_DIR` found: values, and files that are there but cannot be read. */
export interface SecretsDirRead {
  readonly values: Map<string, string>;
  /** Variable name -> the error's code (EACCES, EISDIR...). */
  readonly unreadable: Map<string, string>;
}

/**
 * Reads `SECRETS_DIR`: one file per variable, named like it (Vault Agent templates and
 * Kubernetes secret volumes deliver settings this way). Hidden entries such as the `..data`
 * symlink of a Kubernetes volume are skipped. Trailing whitespace (the newline editors add)
 * is not part of the value. A file that exists but cannot be read is reported, not taken as
 * unset: unset would turn a permission slip into 401s for every hook.
 */
export function readSecretsDir(dir: string): SecretsDirRead {
  const values = new Map<string, string>();
  const unreadable = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    if (!VARIABLE_NAME.test(name)) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      values.set(name, readFileSync(path, 'utf8').trim());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      // A file removed between readdir and read is simply gone: the next reload settles it.
      if (code !== 'ENOENT') unreadable.set(name, code);
    }
  }
  return { values, unreadable };
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
