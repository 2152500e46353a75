import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { describeConfig } from '../../src/describe-config.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('describeConfig (check-config)', () => {
  it('shows which secrets are set, never their values', () => {
    const text = describeConfig(
      loadConfig({
        DATA_DIR: tempDir(),
        AUTH_TOKEN: 'very-secret-a,very-secret-b',
        PROM_GROUP_TOKEN_ACME: 'c',
      }),
    );
    assert.match(text, /^Configuration is valid\./);
    assert.match(text, /\n {2}AUTH_TOKEN: set \(2 values\)/);
    assert.match(text, /\n {2}PROM_GROUP_TOKEN_ACME: set \(1 value\)/);
    assert.match(text, /\n {2}METRICS_TOKEN: unset/);
    assert.doesNotMatch(text, /very-secret/);
  });

  it('hides the user and password of URL settings', () => {
    const text = describeConfig(
      loadConfig({
        DATA_DIR: tempDir(),
        GITLAB_URL: 'https://robot:gl-password@gitlab.example.com/sub',
        GITHUB_API_URL: 'https://gh-user@ghe.example.com/api/v3',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://:otel-password@collector:4318',
      }),
    );
    assert.match(text, /\n {2}GITLAB_URL: https:\/\/\[redacted\]@gitlab\.example\.com\/sub\n/);
    assert.match(text, /\n {2}GITHUB_API_URL: https:\/\/\[redacted\]@ghe\.example\.com\/api\/v3\n/);
    assert.match(text, /\n {2}OTEL_EXPORTER_OTLP_ENDPOINT: http:\/\/\[redacted\]@collector:4318\//);
    assert.doesNotMatch(text, /robot|gl-password|gh-user|otel-password/);
    assert.match(
      describeConfig(loadConfig({ DATA_DIR: tempDir(), GITLAB_URL: 'https://gitlab.example.com' })),
      /\n {2}GITLAB_URL: https:\/\/gitlab\.example\.com\/\n/,
    );
  });

  it('prints the warnings about SECRETS_DIR, naming the files but not their contents', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'auth-token'), 'never-shown');
    writeFileSync(join(dir, 'AUTH_TOKEN'), '');
    const text = describeConfig(loadConfig({ DATA_DIR: tempDir(), SECRETS_DIR: dir }));
    assert.match(
      text,
      /\nWarning: files in SECRETS_DIR that are not setting names \(upper snake case, e\.g\. AUTH_TOKEN\) are ignored: auth-token\n/,
    );
    assert.match(
      text,
      /\nWarning: empty files in SECRETS_DIR are ignored \(the environment variable is used, if set\): AUTH_TOKEN(\n|$)/,
    );
    assert.doesNotMatch(text, /never-shown/);
  });
});
