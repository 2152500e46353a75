import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Settings as the process sees them: plain strings keyed by variable name. */
export type Settings = Readonly<Record<string, string | undefined>>;

const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;
/**
 * Entries skipped without a word: hidden ones (the `..data` symlink and `..2026_...` directory
 * of a Kubernetes secret volume, editors' dot files) and the temp file Vault Agent writes before
 * renaming it over a setting (consul-template's `os.CreateTemp(dir, "")`, all digits).
 */
const EXPECTED_OTHER = /^(?:\..*|\d+)$/;

/** What a read of `SECRETS_DIR` found: values, files that cannot be read, and other names. */
export interface SecretsDirRead {
  readonly values: Map<string, string>;
  /** Variable name -> the error's code (EACCES, EISDIR...). */
  readonly unreadable: Map<string, string>;
  /** Entries whose names are not setting names (`auth-token`, `AUTH_TOKEN.txt`): not read. */
  readonly ignored: string[];
}

/**
 * Reads `SECRETS_DIR`: one file per variable, named like it (Vault Agent templates and
 * Kubernetes secret volumes deliver settings this way). Other names are not read (see
 * `EXPECTED_OTHER` for those not even reported). Trailing whitespace (the newline editors add)
 * is not part of the value. A file that exists but cannot be read is reported, not taken as
 * unset: unset would turn a permission slip into 401s for every hook.
 */
export function readSecretsDir(dir: string): SecretsDirRead {
  const values = new Map<string, string>();
  const unreadable = new Map<string, string>();
  const ignored: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!VARIABLE_NAME.test(name)) {
      if (!EXPECTED_OTHER.test(name)) ignored.push(name);
      continue;
    }
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
  return { values, unreadable, ignored };
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
