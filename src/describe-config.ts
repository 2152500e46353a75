import { type Config, isSecretSetting, SECRET_PREFIXES, SECRET_SETTINGS } from './config.js';

/** What `check-config` prints for a valid configuration: every setting, secrets only as set or unset. */
export function describeConfig(config: Config): string {
  const secretNames = new Set<string>([...SECRET_SETTINGS]);
  for (const prefix of SECRET_PREFIXES)
    for (const key of config.secrets.prefixed(prefix).keys()) secretNames.add(prefix + key);
  const secrets = [...secretNames].filter(isSecretSetting).map((name) => {
    const n = config.secrets.list(name).length;
    return `  ${name}: ${n === 0 ? 'unset' : `set (${n} value${n === 1 ? '' : 's'})`}`;
  });
  const listen = `${config.listen.host ?? ''}:${config.listen.port}`;
  const list = (values: readonly string[]) => (values.length === 0 ? 'none' : values.join(', '));
  return [
    'Configuration is valid.',
    `  LISTEN_ADDRESS: ${listen}`,
    `  DATA_DIR: ${config.dataDir}`,
    `  METRICS_CATALOG: ${config.catalogPath ?? 'built-in'} (${config.catalog.metrics.length} metrics)`,
    `  TRACKED_REFS: ${config.trackedRefs.source}`,
    `  GITLAB_URL: ${config.gitlab.url === undefined ? 'unset (no GitLab scraper)' : redactUrl(config.gitlab.url)}`,
    `  GITLAB_PROJECTS: ${list(config.gitlab.projects)}`,
    `  GITLAB_GROUPS: ${list(config.gitlab.groups)}`,
    `  GITHUB_API_URL: ${redactUrl(config.github.apiUrl)}`,
    `  GITHUB_REPOS: ${list(config.github.repos)}`,
    `  GITHUB_ORGS: ${list(config.github.orgs)}`,
    `  SCRAPE_SCHEDULE: ${config.scrape.schedule}`,
    `  SCRAPE_LOOKBACK: ${config.scrape.lookbackSeconds}s`,
    `  API_MAX_RPS: ${config.scrape.apiMaxRps}`,
    `  LOG_LEVEL: ${config.logLevel}`,
    `  WEBHOOK_THREADS: ${config.webhookThreads}`,
    `  OTEL_EXPORTER_OTLP_ENDPOINT: ${config.otel.endpoint === undefined ? 'unset (no traces)' : `${redactUrl(config.otel.endpoint)} (${config.otel.protocol ?? 'http/protobuf'})`}`,
    `  SECRETS_DIR: ${config.secretsDir ?? 'unset'}`,
    ...secrets,
    ...config.warnings.map((w) => `Warning: ${w.message}: ${w.files.join(', ')}`),
  ].join('\n');
}

/** A URL with its `user:password@` part, if any, shown as `[redacted]@`. */
function redactUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  return `${bare.protocol}//[redacted]@${bare.href.slice(bare.protocol.length + 2)}`;
}
