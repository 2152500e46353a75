import assert from 'node:assert/strict';
import { runProgram, startProgram } from '../helpers/program.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the built program: configuration errors (acceptance)', function () {
  this.timeout(30_000);

  it('check-config names every bad variable and exits non-zero', async () => {
    const { code, stderr } = await runProgram(['check-config'], {
      LISTEN_ADDRESS: 'everywhere',
      API_MAX_RPS: '0',
      SCRAPE_LOOKBACK: 'yesterday',
    });
    assert.equal(code, 1);
    assert.match(stderr, /Invalid configuration \(3 problems\)/);
    assert.match(stderr, /LISTEN_ADDRESS: 'everywhere' is not host:port/);
    assert.match(stderr, /API_MAX_RPS: '0' is not a decimal number from 0\.01 to 10000/);
    assert.match(stderr, /SCRAPE_LOOKBACK: 'yesterday' is not a duration/);
  });

  it('check-config prints a valid configuration without its secret values', async () => {
    const { code, stdout } = await runProgram(['check-config'], {
      AUTH_TOKEN: 'very-secret-a,very-secret-b',
      PROM_GROUP_TOKEN_ACME: 'very-secret-c',
      GITLAB_URL: 'https://gitlab.example.com',
      GITLAB_GROUPS: 'acme,platform',
      GITHUB_REPOS: 'octo-org/octo-repo',
    });
    assert.equal(code, 0);
    // The scraper settings too, so they can be checked before a start.
    assert.match(stdout, /GITLAB_URL: https:\/\/gitlab\.example\.com\//);
    assert.match(stdout, /GITLAB_GROUPS: acme, platform/);
    assert.match(stdout, /GITHUB_REPOS: octo-org\/octo-repo/);
    assert.match(stdout, /Configuration is valid/);
    assert.match(stdout, /AUTH_TOKEN: set \(2 values\)/);
    assert.match(stdout, /PROM_GROUP_TOKEN_ACME: set \(1 value\)/);
    assert.match(stdout, /METRICS_TOKEN: unset/);
    assert.doesNotMatch(stdout, /very-secret/);
  });

  it('start refuses a bad configuration with the same message', async () => {
    const { code, stderr } = await runProgram([], { TRACKED_REFS: '([' });
    assert.equal(code, 1);
    assert.match(stderr, /TRACKED_REFS: '\(\[' is not a regular expression/);
  });

  it('says which setting to change when the port is taken', async () => {
    const first = await startProgram({ DATA_DIR: tempDir() });
    try {
      const { port } = new URL(first.url);
      const { code, stderr } = await runProgram([], {
        LISTEN_ADDRESS: `127.0.0.1:${port}`,
        DATA_DIR: tempDir(),
      });
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`Port ${port} is already in use\\. Set LISTEN_ADDRESS`));
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });

  it('says when another process holds DATA_DIR', async () => {
    const dataDir = tempDir();
    const first = await startProgram({ DATA_DIR: dataDir });
    try {
      const { code, stderr } = await runProgram([], { LISTEN_ADDRESS: '127.0.0.1:0', DATA_DIR: dataDir });
      assert.equal(code, 1);
      assert.match(stderr, /another delivery-metrics process is using it/);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });
});
