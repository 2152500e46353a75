import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT = 'apt-get install -y wrk prometheus-pushgateway curl';

/** A required external program is not installed. */
export class MissingToolError extends Error {
  constructor(readonly tools: readonly string[]) {
    super(
      `The benchmark needs ${tools.join(' and ')}, which ${tools.length === 1 ? 'is' : 'are'} not installed.\n` +
        `Install with:  ${INSTALL_HINT}`,
    );
    this.name = 'MissingToolError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of `name` from PATH (then /usr/bin, /usr/sbin), or undefined. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Resolves every named program, or throws one MissingToolError naming all that are missing. */
export function requireTools<const T extends readonly string[]>(names: T): Record<T[number], string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const path = which(name);
    if (path === undefined) missing.push(name);
    else found[name] = path;
  }
  if (missing.length > 0) throw new MissingToolError(missing);
  return found as Record<T[number], string>;
}

/** First non-empty line a program prints for `args` (on stdout or stderr), for the report. */
export function toolVersion(path: string, args: readonly string[]): string {
  const result = spawnSync(path, args, { encoding: 'utf8', timeout: 5_000 });
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? 'unknown'
  );
}
