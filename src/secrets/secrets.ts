import { type FSWatcher, watch } from 'node:fs';
import { mergeSettings, readSecretsDir, type Settings } from './read-settings.js';
import { isSecretSetting } from './secret-names.js';
import { digest, splitSecretList } from './timing-safe.js';

export interface SecretsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How often the directory is read again even without a change notice (inotify can miss a swap). */
const POLL_MS = 5_000;
const NO_DIGESTS: readonly Buffer[] = Object.freeze([]);

/**
 * The secret settings, read live: values from `SECRETS_DIR` are re-read when the directory
 * changes, so a rotated secret takes effect without a restart. Values never leave this object
 * except to be compared (see `matchesAny`).
 */
export class Secrets {
  readonly #env: Settings;
  readonly #dir: string | undefined;
  #values: Settings;
  #prefixCache = new Map<string, Map<string, string[]>>();
  #listCache = new Map<string, string[]>();
  #digestCache = new Map<string, Buffer[]>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #log: SecretsLog | undefined;
  /** Files of SECRETS_DIR the first read could not read (name -> error code). */
  readonly #unreadableAtStart: ReadonlyMap<string, string>;
  /** Entries of SECRETS_DIR at start whose names are not setting names. */
  readonly #ignoredAtStart: readonly string[];
  /** Files of SECRETS_DIR that were empty at start, and so not taken. */
  readonly #emptyAtStart: readonly string[];
  /** What the last reload warned about, so that a lasting problem is said once. */
  #lastWarning = '';

  constructor(env: Settings, dir: string | undefined) {
    this.#env = env;
    this.#dir = dir;
    const read = dir === undefined ? undefined : readSecretsDir(dir);
    this.#unreadableAtStart = read?.unreadable ?? new Map();
    this.#ignoredAtStart = read?.ignored ?? [];
    // An empty file is a failed template render, as it is while running (see `reload`): it must
    // not silently unset the variable of the same name.
    const empty = [...(read?.values ?? [])].filter(([, value]) => value === '').map(([name]) => name);
    for (const name of empty) read?.values.delete(name);
    this.#emptyAtStart = empty;
    this.#values = read === undefined ? env : mergeSettings(env, read.values);
  }

  /** Files in SECRETS_DIR that exist but could not be read at start: a bad setting. */
  unreadableAtStart(): ReadonlyMap<string, string> {
    return this.#unreadableAtStart;
  }

  /** Entries of SECRETS_DIR at start that are not setting names (hidden and temp files aside). */
  ignoredAtStart(): readonly string[] {
    return this.#ignoredAtStart;
  }

  /** Files of SECRETS_DIR that were empty at start: ignored, the variable of the name is used. */
  emptyAtStart(): readonly string[] {
    return this.#emptyAtStart;
  }

  /**
   * What this object was made from, for a worker thread of this process that keeps its own
   * live copy (see check-pool.ts). Not for anything that logs or leaves the process.
   */
  origin(): { readonly env: Settings; readonly dir: string | undefined } {
    return { env: this.#env, dir: this.#dir };
  }

  /** One setting as written (not split). Meant for plain settings, not secrets. */
  get(name: string): string | undefined {
    return this.#values[name];
  }

  /** The comma-separated values of one setting; empty when unset. */
  list(name: string): string[] {
    // Names come from request bodies too: only names that are set are cached, so unknown ones
    // cannot grow the cache.
    if (this.#values[name] === undefined) return [];
    let values = this.#listCache.get(name);
    if (values === undefined) {
      values = splitSecretList(this.#values[name]);
      this.#listCache.set(name, values);
    }
    return values;
  }

  /** The SHA-256 digests of `list(name)`, computed once per value: what `matchesAnyDigest` compares. */
  digests(name: string): readonly Buffer[] {
    if (this.#values[name] === undefined) return NO_DIGESTS;
    let found = this.#digestCache.get(name);
    if (found === undefined) {
      found = this.list(name).map(digest);
      this.#digestCache.set(name, found);
    }
    return found;
  }

  has(name: string): boolean {
    return this.list(name).length > 0;
  }

  /** Every setting named `<prefix><KEY>`, as KEY -> values. */
  prefixed(prefix: string): ReadonlyMap<string, string[]> {
    let found = this.#prefixCache.get(prefix);
    if (found === undefined) {
      found = new Map();
      for (const [name, value] of Object.entries(this.#values)) {
        if (!name.startsWith(prefix) || name.length === prefix.length) continue;
        const values = splitSecretList(value);
        if (values.length > 0) found.set(name.slice(prefix.length), values);
      }
      this.#prefixCache.set(prefix, found);
    }
    return found;
  }

  /**
   * Reads `SECRETS_DIR` again now. A file that cannot be read, or that became empty (a failed
   * template render), keeps its previous value, with a warning: to unset a setting, delete its
   * file. Plain settings (LOG_LEVEL...) are read once at start: a change is warned about, not
   * applied.
   */
  reload(): void {
    if (this.#dir === undefined) return;
    try {
      const { values, unreadable } = readSecretsDir(this.#dir);
      const emptied: string[] = [];
      for (const [name, value] of values) {
        if (value !== '') continue;
        const before = this.#values[name];
        if (before !== undefined && before !== '') {
          values.set(name, before);
          // Already said at start (see `emptyAtStart`).
          if (!this.#emptyAtStart.includes(name) || before !== this.#env[name]) emptied.push(name);
        } else {
          values.delete(name);
        }
      }
      for (const name of unreadable.keys()) {
        const before = this.#values[name];
        if (before !== undefined) values.set(name, before);
      }
      const next = mergeSettings(this.#env, values);
      const changed = Object.keys({ ...next, ...this.#values }).filter((k) => next[k] !== this.#values[k]);
      this.#values = next;
      this.#prefixCache = new Map();
      this.#listCache = new Map();
      this.#digestCache = new Map();
      // Names only: the values are secrets. REDIS_URL is read once at start, like plain settings.
      const live = changed.filter((name) => isSecretSetting(name) && name !== 'REDIS_URL');
      const restart = changed.filter((name) => !live.includes(name));
      if (live.length > 0) this.#log?.info({ changed: live }, 'secrets reloaded');
      if (restart.length > 0) {
        this.#log?.warn(
          { changed: restart },
          `${restart.join(', ')} changed in SECRETS_DIR; restart to apply`,
        );
      }
      this.#warnOnce(Object.fromEntries(unreadable), emptied);
    } catch (err) {
      this.#log?.warn({ err, dir: this.#dir }, 'SECRETS_DIR could not be read; keeping the previous values');
    }
  }

  #warnOnce(unreadable: Record<string, string>, emptied: string[]): void {
    const warning = JSON.stringify([unreadable, emptied]);
    if (warning === this.#lastWarning) return;
    this.#lastWarning = warning;
    if (Object.keys(unreadable).length > 0) {
      this.#log?.warn({ unreadable }, 'files in SECRETS_DIR cannot be read; keeping their previous values');
    }
    if (emptied.length > 0) {
      this.#log?.warn(
        { emptied },
        'files in SECRETS_DIR became empty; keeping their previous values (delete a file to unset it)',
      );
    }
  }

  /** Starts watching `SECRETS_DIR` (a no-op without one). */
  watch(log: SecretsLog): void {
    this.#log = log;
    if (this.#dir === undefined || this.#timer !== undefined) return;
    try {
      this.#watcher = watch(this.#dir, () => {
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => this.reload(), 50);
      });
      this.#watcher.on('error', () => undefined);
    } catch (err) {
      log.warn({ err }, 'cannot watch SECRETS_DIR; polling it instead');
    }
    this.#timer = setInterval(() => this.reload(), POLL_MS);
    this.#timer.unref();
  }

  close(): void {
    this.#watcher?.close();
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    this.#timer = undefined;
  }
}
