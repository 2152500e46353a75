import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { validate as validateCron } from 'node-cron';
import { MAX_LOOKBACK_S, MAX_LOOKBACK_SAYS } from './events/handlers/context.js';
import {
  type ListenAddress,
  type Parsed,
  parseDecimal,
  parseDuration,
  parseList,
  parseListenAddress,
  parseRegExp,
  parseThreadCount,
  parseUrl,
  withoutUserinfo,
} from './config/parse.js';
import { type Catalog, CatalogError, loadCatalogFile } from './push/catalog.js';
import { catalogConflicts } from './push/catalog-conflicts.js';
import { defaultCatalog } from './push/default-catalog.js';
import type { Settings } from './secrets/read-settings.js';
import { isSecretSetting, upperSnakeName } from './secrets/secret-names.js';
import { Secrets } from './secrets/secrets.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const OTLP_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;

export interface Config {
  readonly listen: ListenAddress;
  readonly dataDir: string;
  readonly redisUrl: URL | undefined;
  readonly catalog: Catalog;
  readonly catalogPath: string | undefined;
  readonly trackedRefs: RegExp;
  readonly gitlab: { readonly url: URL | undefined; readonly projects: string[]; readonly groups: string[] };
  readonly github: { readonly apiUrl: URL; readonly repos: string[]; readonly orgs: string[] };
  readonly scrape: {
    readonly schedule: string;
    readonly lookbackSeconds: number;
    readonly apiMaxRps: number;
  };
  readonly otel: {
    readonly endpoint: URL | undefined;
    readonly protocol: string | undefined;
    /** OTEL_EXPORTER_OTLP_HEADERS, from the environment or SECRETS_DIR (a collector's API key). */
    readonly headers: string | undefined;
  };
  readonly logLevel: LogLevel;
  /** Threads that read, authenticate and parse webhook bodies; 0 does it on the main thread. */
  readonly webhookThreads: number;
  readonly secretsDir: string | undefined;
  /** Every secret setting, read live from the environment and `SECRETS_DIR`. */
  readonly secrets: Secrets;
  /** What is odd but not wrong (files of SECRETS_DIR that are ignored): logged at start. */
  readonly warnings: ReadonlyArray<ConfigWarning>;
}

export interface ConfigWarning {
  /** Names of files in SECRETS_DIR; never their contents. */
  readonly files: readonly string[];
  readonly message: string;
}

export { isSecretSetting, SECRET_PREFIXES, SECRET_SETTINGS } from './secrets/secret-names.js';

export class ConfigError extends Error {
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p.variable}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Reads every setting of SPEC section 3 from `env` (with `SECRETS_DIR` laid over it) and
 * returns a Config, or throws one ConfigError naming every bad variable.
 */
export function loadConfig(env: Settings): Config {
  const problems: Array<{ variable: string; message: string }> = [];

  const secretsDir = nonEmpty(env.SECRETS_DIR);
  if (secretsDir !== undefined && !isDirectory(secretsDir)) {
    problems.push({ variable: 'SECRETS_DIR', message: `'${secretsDir}' is not a readable directory` });
  }
  const secrets = new Secrets(env, problems.length === 0 ? secretsDir : undefined);
  for (const [variable, code] of secrets.unreadableAtStart()) {
    problems.push({ variable, message: `its file in SECRETS_DIR cannot be read (${code})` });
  }
  for (const variable of Object.keys(env)) {
    const name = upperSnakeName(variable);
    if (name !== undefined)
      problems.push({ variable, message: `the key must be upper snake case, e.g. ${name}` });
  }
  const ignoredFiles: string[] = [];
  for (const file of secrets.ignoredAtStart()) {
    const name = upperSnakeName(file);
    if (name === undefined) ignoredFiles.push(file);
    else
      problems.push({
        variable: file,
        message: `the key of its file in SECRETS_DIR must be upper snake case, e.g. ${name}`,
      });
  }
  const warnings: ConfigWarning[] = [];
  if (ignoredFiles.length > 0)
    warnings.push({
      files: ignoredFiles,
      message:
        'files in SECRETS_DIR that are not setting names (upper snake case, e.g. AUTH_TOKEN) are ignored',
    });
  if (secrets.emptyAtStart().length > 0)
    warnings.push({
      files: secrets.emptyAtStart(),
      message: 'empty files in SECRETS_DIR are ignored (the environment variable is used, if set)',
    });
  const settings = (name: string): string | undefined => nonEmpty(secrets.get(name));

  function take<T>(variable: string, fallback: string, parse: (v: string) => Parsed<T>): T | undefined {
    const value = settings(variable) ?? fallback;
    const result = parse(value);
    if (result.ok) return result.value;
    // A secret's value (REDIS_URL holds a password) never goes into a message.
    const message = isSecretSetting(variable)
      ? result.message
          .replaceAll(`'${value}'`, 'the value (not shown: a secret)')
          .replaceAll(`'${withoutUserinfo(value)}'`, 'the value (not shown: a secret)')
          .replaceAll(value, '[redacted]')
      : result.message;
    problems.push({ variable, message });
    return undefined;
  }
  function optional<T>(variable: string, parse: (v: string) => Parsed<T>): T | undefined {
    const value = settings(variable);
    return value === undefined ? undefined : take(variable, value, parse);
  }

  const listen = take('LISTEN_ADDRESS', ':2112', parseListenAddress);
  const redisUrl = optional('REDIS_URL', (v) => parseUrl(v, ['redis:', 'rediss:']));
  if (redisUrl !== undefined) {
    problems.push({
      variable: 'REDIS_URL',
      message:
        'the Redis store is not available in this version; unset REDIS_URL to use the embedded store in DATA_DIR',
    });
  }
  const trackedRefs = take('TRACKED_REFS', '^(main|master)$', parseRegExp);
  const gitlabUrl = optional('GITLAB_URL', (v) => parseUrl(v, ['http:', 'https:']));
  const githubApiUrl = take('GITHUB_API_URL', 'https://api.github.com', (v) =>
    parseUrl(v, ['http:', 'https:']),
  );
  const schedule = take('SCRAPE_SCHEDULE', '* * * * *', (v): Parsed<string> =>
    validateCron(v)
      ? { ok: true, value: v }
      : { ok: false, message: `'${v}' is not a cron expression (five or six fields)` },
  );
  const lookbackSeconds = take('SCRAPE_LOOKBACK', '24h', (v) =>
    parseDuration(v, { seconds: MAX_LOOKBACK_S, says: MAX_LOOKBACK_SAYS }),
  );
  // The limiter spaces requests 1000/API_MAX_RPS ms apart, and a Node timer holds at most 2^31-1
  // ms: far enough below 0.01 (one request per 100 s) the spacing overflows and the limit is gone.
  const apiMaxRps = take('API_MAX_RPS', '5', (v) => parseDecimal(v, 0.01, 10_000));
  const otelEndpoint = optional('OTEL_EXPORTER_OTLP_ENDPOINT', (v) => parseUrl(v, ['http:', 'https:']));
  const otelProtocol = optional('OTEL_EXPORTER_OTLP_PROTOCOL', (v): Parsed<string> =>
    (OTLP_PROTOCOLS as readonly string[]).includes(v)
      ? { ok: true, value: v }
      : { ok: false, message: `'${v}' is not one of ${OTLP_PROTOCOLS.join(', ')}` },
  );
  const logLevel = take('LOG_LEVEL', 'info', (v): Parsed<LogLevel> =>
    (LOG_LEVELS as readonly string[]).includes(v.toLowerCase())
      ? { ok: true, value: v.toLowerCase() as LogLevel }
      : { ok: false, message: `'${v}' is not one of ${LOG_LEVELS.join(', ')}` },
  );
  const webhookThreads = take('WEBHOOK_THREADS', 'auto', (v) => parseThreadCount(v, MAX_WEBHOOK_THREADS));
  const githubRepos = parseList(settings('GITHUB_REPOS'));
  for (const repo of githubRepos) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(repo))
      problems.push({ variable: 'GITHUB_REPOS', message: `'${repo}' is not owner/repo` });
  }

  const catalogPath = settings('METRICS_CATALOG');
  let catalog: Catalog | undefined;
  try {
    catalog = catalogPath === undefined ? defaultCatalog() : loadCatalogFile(catalogPath);
    for (const message of catalogConflicts(catalog)) problems.push({ variable: 'METRICS_CATALOG', message });
  } catch (err) {
    if (!(err instanceof CatalogError)) throw err;
    for (const message of err.problems) problems.push({ variable: 'METRICS_CATALOG', message });
  }

  const dataDir = settings('DATA_DIR') ?? './data';
  const dataDirProblem = checkDataDir(dataDir);
  if (dataDirProblem !== undefined) problems.push({ variable: 'DATA_DIR', message: dataDirProblem });

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    listen: listen!,
    dataDir,
    redisUrl,
    catalog: catalog!,
    catalogPath,
    trackedRefs: trackedRefs!,
    gitlab: {
      url: gitlabUrl,
      projects: parseList(settings('GITLAB_PROJECTS')),
      groups: parseList(settings('GITLAB_GROUPS')),
    },
    github: { apiUrl: githubApiUrl!, repos: githubRepos, orgs: parseList(settings('GITHUB_ORGS')) },
    scrape: { schedule: schedule!, lookbackSeconds: lookbackSeconds!, apiMaxRps: apiMaxRps! },
    otel: { endpoint: otelEndpoint, protocol: otelProtocol, headers: settings('OTEL_EXPORTER_OTLP_HEADERS') },
    logLevel: logLevel!,
    webhookThreads: webhookThreads ?? defaultWebhookThreads(),
    secretsDir,
    secrets,
    warnings,
  };
}

const MAX_WEBHOOK_THREADS = 16;

/**
 * `WEBHOOK_THREADS=auto`: every core but one (which the main thread keeps: HTTP, state, the
 * store), at most 4; none on a single core, where a thread would only add hand-over costs.
 */
function defaultWebhookThreads(): number {
  return Math.max(0, Math.min(4, availableParallelism() - 1));
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Why DATA_DIR cannot hold the store, if it cannot: it must be a writable directory, or not
 * exist yet below one (the store creates it). Checked with the other settings, so one message
 * names it too.
 */
function checkDataDir(dir: string): string | undefined {
  let path = resolve(dir);
  for (;;) {
    let stat: ReturnType<typeof statSync> | undefined;
    try {
      stat = statSync(path, { throwIfNoEntry: false });
    } catch {
      // ENOTDIR: something above is a file; the parent says which.
      stat = undefined;
    }
    if (stat !== undefined) {
      if (!stat.isDirectory())
        return path === resolve(dir)
          ? `'${dir}' is not a directory`
          : `'${dir}' cannot be created: '${path}' is not a directory`;
      try {
        accessSync(path, constants.W_OK);
      } catch {
        return `'${dir}' is not writable${path === resolve(dir) ? '' : ` (nor is '${path}', where it would be created)`}`;
      }
      return undefined;
    }
    const parent = dirname(path);
    if (parent === path) return `'${dir}' cannot be created`;
    path = parent;
  }
}
