import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe('loadConfig', () => {
  it('gives the defaults of SPEC section 3 with nothing set', () => {
    const config = loadConfig({});
    assert.deepEqual(config.listen, { host: undefined, port: 2112 });
    assert.equal(config.dataDir, './data');
    assert.equal(config.trackedRefs.source, '^(main|master)$');
    assert.equal(config.scrape.schedule, '* * * * *');
    assert.equal(config.scrape.lookbackSeconds, 86400);
    assert.equal(config.scrape.apiMaxRps, 5);
    assert.equal(config.github.apiUrl.href, 'https://api.github.com/');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.catalogPath, undefined);
    assert.ok(config.catalog.byName.has('deployment_duration_seconds'));
    assert.ok(config.catalog.byName.has('deployments_total'));
    assert.ok(config.catalog.byName.has('release_pressure'));
    assert.equal(config.secrets.has('AUTH_TOKEN'), false);
    // auto: every core but one, at most 4.
    assert.equal(config.webhookThreads, Math.max(0, Math.min(4, availableParallelism() - 1)));
  });

  it('takes WEBHOOK_THREADS as a whole number from 0 to 16, or auto', () => {
    assert.equal(loadConfig({ WEBHOOK_THREADS: '0' }).webhookThreads, 0);
    assert.equal(loadConfig({ WEBHOOK_THREADS: '16' }).webhookThreads, 16);
    for (const bad of ['-1', '17', '1.5', 'many']) {
      assert.throws(
        () => loadConfig({ WEBHOOK_THREADS: bad }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes(`WEBHOOK_THREADS: '${bad}' is not 'auto' or a whole number from 0 to 16`),
      );
    }
  });

  it('names every bad variable in one error', () => {
    const dir = tempDir();
    const catalog = join(dir, 'catalog.yaml');
    writeFileSync(catalog, 'metrics:\n  x_total: {type: summary, help: h}\n');
    let error: unknown;
    try {
      loadConfig({
        LISTEN_ADDRESS: 'nope',
        TRACKED_REFS: '(',
        SCRAPE_SCHEDULE: 'every minute',
        SCRAPE_LOOKBACK: 'a day',
        API_MAX_RPS: 'fast',
        LOG_LEVEL: 'loud',
        WEBHOOK_THREADS: 'all',
        GITLAB_URL: 'gitlab.example.com',
        GITHUB_REPOS: 'just-a-name',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon',
        METRICS_CATALOG: catalog,
        SECRETS_DIR: join(dir, 'missing'),
        // A file where the store's directory should be.
        DATA_DIR: join(catalog, 'data'),
      });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    const variables = error.problems.map((p) => p.variable).sort();
    assert.deepEqual(variables, [
      'API_MAX_RPS',
      'DATA_DIR',
      'GITHUB_REPOS',
      'GITLAB_URL',
      'LISTEN_ADDRESS',
      'LOG_LEVEL',
      'METRICS_CATALOG',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'SCRAPE_LOOKBACK',
      'SCRAPE_SCHEDULE',
      'SECRETS_DIR',
      'TRACKED_REFS',
      'WEBHOOK_THREADS',
    ]);
    assert.match(error.message, /^Invalid configuration \(13 problems\):/);
    assert.match(
      error.message,
      /DATA_DIR: '[^']*data' cannot be created: '[^']*catalog\.yaml' is not a directory/,
    );
    assert.match(error.message, /LISTEN_ADDRESS: 'nope' is not host:port/);
    assert.match(error.message, /METRICS_CATALOG: metrics\.x_total\.type/);
  });

  it('refuses REDIS_URL until the Redis store exists, rather than silently using the disk', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://localhost:6379' }),
      /REDIS_URL: the Redis store is not available/,
    );
  });

  it('accepts a six-field cron with seconds', () => {
    assert.equal(loadConfig({ SCRAPE_SCHEDULE: '*/10 * * * * *' }).scrape.schedule, '*/10 * * * * *');
  });

  it('reads any setting from a file in SECRETS_DIR, the file winning over the variable', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), 'from-file\n');
    writeFileSync(join(dir, 'LISTEN_ADDRESS'), '127.0.0.1:9999');
    writeFileSync(join(dir, 'lowercase-ignored'), 'x');
    const config = loadConfig({ SECRETS_DIR: dir, AUTH_TOKEN: 'from-env', DATA_DIR: '/var/lib/dm' });
    assert.deepEqual(config.secrets.list('AUTH_TOKEN'), ['from-file']);
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 9999 });
    assert.equal(config.dataDir, '/var/lib/dm');
  });
});

describe('loadConfig: settings that could never work', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ DATA_DIR: tempDir(), ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.variable}: ${p.message}`);
      throw err;
    }
    return [];
  };

  it('refuses a secret setting whose key is not upper snake case, in the environment or SECRETS_DIR', () => {
    assert.deepEqual(
      problemsOf({
        PROM_GROUP_TOKEN_acme: 'x',
        'PROM_GROUP_TOKEN_ACME-CORP': 'x',
        GITLAB_WEBHOOK_TOKEN_acme_corp: 'x',
        GITLAB_WEBHOOK_TOKEN_ACME_CORP_101: 'fine',
      }),
      [
        'PROM_GROUP_TOKEN_acme: the key must be upper snake case, e.g. PROM_GROUP_TOKEN_ACME',
        'PROM_GROUP_TOKEN_ACME-CORP: the key must be upper snake case, e.g. PROM_GROUP_TOKEN_ACME_CORP',
        'GITLAB_WEBHOOK_TOKEN_acme_corp: the key must be upper snake case, e.g. GITLAB_WEBHOOK_TOKEN_ACME_CORP',
      ],
    );
    const dir = tempDir();
    writeFileSync(join(dir, 'GITHUB_WEBHOOK_SECRET_octo-org'), 'secret-value');
    writeFileSync(join(dir, 'GITHUB_WEBHOOK_SECRET_OCTO_ORG'), 'fine');
    const problems = problemsOf({ SECRETS_DIR: dir });
    assert.deepEqual(problems, [
      'GITHUB_WEBHOOK_SECRET_octo-org: the key of its file in SECRETS_DIR must be upper snake case, e.g. GITHUB_WEBHOOK_SECRET_OCTO_ORG',
    ]);
  });

  it('warns about files in SECRETS_DIR that are not setting names, and about empty ones', () => {
    const dir = tempDir();
    for (const name of ['auth-token', 'prom_group_token_acme', 'AUTH_TOKEN.txt']) {
      writeFileSync(join(dir, name), 'never-shown');
    }
    // Kubernetes' hidden entries and a Vault Agent (consul-template) temp file: silent.
    mkdirSync(join(dir, '..2026_01_01_00_00_00.123'));
    symlinkSync('..2026_01_01_00_00_00.123', join(dir, '..data'));
    writeFileSync(join(dir, '.hidden'), 'x');
    writeFileSync(join(dir, '2837465019'), 'x');
    writeFileSync(join(dir, 'METRICS_TOKEN'), '\n');
    const config = loadConfig({ SECRETS_DIR: dir, DATA_DIR: tempDir() });
    assert.deepEqual(
      config.warnings.map((w) => ({ ...w, files: [...w.files].sort() })),
      [
        {
          files: ['AUTH_TOKEN.txt', 'auth-token', 'prom_group_token_acme'],
          message:
            'files in SECRETS_DIR that are not setting names (upper snake case, e.g. AUTH_TOKEN) are ignored',
        },
        {
          files: ['METRICS_TOKEN'],
          message: 'empty files in SECRETS_DIR are ignored (the environment variable is used, if set)',
        },
      ],
    );
    assert.doesNotMatch(JSON.stringify(config.warnings), /never-shown/);
    assert.deepEqual(loadConfig({ DATA_DIR: tempDir() }).warnings, []);
  });

  it('takes an empty file in SECRETS_DIR at start as absent, so the environment variable is used', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), '');
    const config = loadConfig({ SECRETS_DIR: dir, AUTH_TOKEN: 'from-env', DATA_DIR: tempDir() });
    assert.deepEqual(config.secrets.list('AUTH_TOKEN'), ['from-env']);
  });

  it('refuses a SCRAPE_LOOKBACK longer than lifecycle state is kept (14 days)', () => {
    assert.equal(loadConfig({ SCRAPE_LOOKBACK: '14d' }).scrape.lookbackSeconds, 14 * 86400);
    assert.deepEqual(problemsOf({ SCRAPE_LOOKBACK: '99999999999d' }), [
      "SCRAPE_LOOKBACK: '99999999999d' is longer than 14d, as long as lifecycle state is kept (runs counted before would count again)",
    ]);
    assert.equal(problemsOf({ SCRAPE_LOOKBACK: '14d1s' }).length, 1);
  });

  it('takes API_MAX_RPS as a plain decimal number from 0.01 to 10000', () => {
    assert.equal(loadConfig({ API_MAX_RPS: '0.01' }).scrape.apiMaxRps, 0.01);
    assert.equal(loadConfig({ API_MAX_RPS: '10000' }).scrape.apiMaxRps, 10000);
    assert.equal(loadConfig({ API_MAX_RPS: '2.5' }).scrape.apiMaxRps, 2.5);
    for (const bad of [
      '0',
      '0.0000001',
      '0.009',
      '10000.5',
      '1e-300',
      '1e3',
      '0x10',
      '-1',
      '.5',
      'Infinity',
    ]) {
      assert.deepEqual(
        problemsOf({ API_MAX_RPS: bad }),
        [`API_MAX_RPS: '${bad}' is not a decimal number from 0.01 to 10000 (for example 5 or 0.5)`],
        bad,
      );
    }
  });

  it('never echoes the value of a secret setting in an error', () => {
    const problems = problemsOf({ REDIS_URL: 'redis//:SuperSecretPw@redis:6379' });
    assert.deepEqual(problems, ['REDIS_URL: the value (not shown: a secret) is not a URL']);
    assert.doesNotMatch(problems.join(), /SuperSecretPw/);
    // Nor the user and password of a URL setting that is not a secret.
    const url = problemsOf({ GITLAB_URL: 'https//ci:glpat-abc@gitlab.example.com' });
    assert.equal(url.length, 1);
    assert.doesNotMatch(url.join(), /glpat-abc/);
  });

  it('takes LOG_LEVEL in any case', () => {
    assert.equal(loadConfig({ LOG_LEVEL: 'INFO' }).logLevel, 'info');
    assert.equal(loadConfig({ LOG_LEVEL: 'Debug' }).logLevel, 'debug');
    assert.deepEqual(problemsOf({ LOG_LEVEL: 'loud' }), [
      "LOG_LEVEL: 'loud' is not one of fatal, error, warn, info, debug, trace, silent",
    ]);
  });
});

/** A catalog file of these YAML lines. */
function catalogFile(lines: readonly string[]): string {
  const catalog = join(tempDir(), 'catalog.yaml');
  writeFileSync(catalog, [...lines, ''].join('\n'));
  return catalog;
}

describe('loadConfig: a catalog that clashes with built-in metrics', () => {
  it('names a metric whose lines another metric writes too, which would break /metrics', () => {
    const catalog = catalogFile([
      'metrics:',
      // The webhook histogram writes delivery_deployment_duration_seconds_count.
      '  deployment_duration_seconds_count: {type: gauge, help: h}',
      // OpenMetrics names the counter delivery_job_runs_total's family delivery_job_runs.
      '  job_runs: {type: gauge, help: h}',
      // One of the scrapers' own metrics.
      '  scrape_errors_total: {type: counter, help: h}',
      // Each other: the counter a_total and the gauge a.
      '  a_total: {type: counter, help: h}',
      '  a: {type: gauge, help: h}',
      '  fine_seconds: {type: histogram, help: h}',
    ]);
    assert.throws(
      () => loadConfig({ METRICS_CATALOG: catalog }),
      (err: unknown) => {
        if (!(err instanceof ConfigError)) return false;
        const messages = err.problems.map((p) => p.message);
        assert.deepEqual(messages, [
          "scrape_errors_total: delivery_scrape_errors_total is one of the service's own metrics; choose another name",
          'deployment_duration_seconds_count: delivery_deployment_duration_seconds_count would be served as delivery_deployment_duration_seconds_count, a name delivery_deployment_duration_seconds uses too; choose another name',
          'job_runs: delivery_job_runs would be served as delivery_job_runs, a name delivery_job_runs_total uses too; choose another name',
          'a_total: delivery_a_total would be served as delivery_a, a name delivery_a uses too; choose another name',
          'a: delivery_a would be served as delivery_a, a name delivery_a_total uses too; choose another name',
        ]);
        return true;
      },
    );
  });

  it('names each clash', () => {
    const catalog = catalogFile([
      'metrics:',
      '  push_requests_total: {type: counter, help: h}',
      // Kept in the store like the event metrics, but the service's own all the same.
      '  webhook_last_received_timestamp_seconds: {type: gauge, help: h, labels: [source, project]}',
      '  job_runs_total: {type: gauge, help: h, labels: [x]}',
      '  pipeline_up: {type: gauge, help: h, labels: [team]}',
      '  deployment_duration_seconds: {type: histogram, help: h, labels: [target, status], buckets: [1, 2]}',
    ]);
    assert.throws(
      () => loadConfig({ METRICS_CATALOG: catalog }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 3 &&
        /push_requests_total: delivery_push_requests_total is one of the service's own metrics/.test(
          err.message,
        ) &&
        /webhook_last_received_timestamp_seconds: delivery_webhook_last_received_timestamp_seconds is one of the service's own metrics/.test(
          err.message,
        ) &&
        /job_runs_total: metric delivery_job_runs_total is declared twice .* a counter and a gauge/.test(
          err.message,
        ),
    );
  });
});
