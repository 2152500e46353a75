import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeGithub } from '../helpers/fake-api/fake-github.js';
import { FakeGitlab } from '../helpers/fake-api/fake-gitlab.js';
import { push } from '../helpers/push.js';
import { getMetrics, sample, startTestApp } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

async function until(check: () => Promise<boolean>, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('secret rotation through SECRETS_DIR', () => {
  it('accepts the new token and then drops the old one, without a restart', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), 'old-secret\n');
    const app = await startTestApp({ SECRETS_DIR: dir });
    const inc = (token: string) =>
      push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, token);
    try {
      assert.equal((await inc('old-secret')).status, 200);
      assert.equal((await inc('new-secret')).status, 401);

      // Step 1 of a rotation: both values are valid.
      writeFileSync(join(dir, 'AUTH_TOKEN'), 'old-secret,new-secret\n');
      await until(async () => (await inc('new-secret')).status === 200);
      assert.equal((await inc('old-secret')).status, 200);

      // Step 2: only the new one. Written the way Kubernetes swaps a secret volume.
      writeFileSync(join(dir, '.AUTH_TOKEN.tmp'), 'new-secret');
      renameSync(join(dir, '.AUTH_TOKEN.tmp'), join(dir, 'AUTH_TOKEN'));
      await until(async () => (await inc('old-secret')).status === 401);
      assert.equal((await inc('new-secret')).status, 200);

      // The rotation is logged by name only.
      assert.ok(app.logs.some((l) => l.msg === 'secrets reloaded'));
      assert.ok(!app.rawLogs().includes('old-secret'));
      assert.ok(!app.rawLogs().includes('new-secret'));
    } finally {
      await app.stop();
    }
  });

  it('uses the environment variable when its file is empty at start, with one warning naming the files', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), '');
    writeFileSync(join(dir, 'auth-token'), 'never-logged');
    writeFileSync(join(dir, '.hidden'), 'x');
    const app = await startTestApp({ SECRETS_DIR: dir, AUTH_TOKEN: 'env-secret' });
    try {
      const inc = await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, 'env-secret');
      assert.equal(inc.status, 200);
      const warnings = app.logs.filter((l) => l.level === 40).map((l) => ({ files: l.files, msg: l.msg }));
      assert.deepEqual(warnings, [
        {
          files: ['auth-token'],
          msg: 'files in SECRETS_DIR that are not setting names (upper snake case, e.g. AUTH_TOKEN) are ignored',
        },
        {
          files: ['AUTH_TOKEN'],
          msg: 'empty files in SECRETS_DIR are ignored (the environment variable is used, if set)',
        },
      ]);
      assert.ok(!app.rawLogs().includes('never-logged'));
      assert.ok(!app.rawLogs().includes('env-secret'));
    } finally {
      await app.stop();
    }
  });

  it('turns the per-group endpoint on when its token file appears', async () => {
    const dir = tempDir();
    const app = await startTestApp({ SECRETS_DIR: dir });
    try {
      const get = () =>
        fetch(`${app.url}/prom/acme/metrics`, { headers: { Authorization: 'Bearer group-secret' } });
      assert.equal((await get()).status, 404);
      writeFileSync(join(dir, 'PROM_GROUP_TOKEN_ACME'), 'group-secret');
      await until(async () => (await get()).status === 200);
    } finally {
      await app.stop();
    }
  });

  it('makes the scrapers use a rotated GITLAB_TOKEN and GITHUB_TOKEN from the next request', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'GITLAB_TOKEN'), 'old-gitlab');
    writeFileSync(join(dir, 'GITHUB_TOKEN'), 'old-github');
    const gitlab = await FakeGitlab.start({ token: 'new-gitlab' });
    const github = await FakeGithub.start({ token: 'new-github' });
    gitlab.addGroup('acme');
    gitlab.addProject({ id: 101, path_with_namespace: 'acme/payments-api', default_branch: 'main' });
    github.addRepo({ id: 1, owner: 'acme-gh', name: 'web', default_branch: 'main' });
    const app = await startTestApp({
      SECRETS_DIR: dir,
      GITLAB_URL: gitlab.url,
      GITLAB_GROUPS: 'acme',
      GITHUB_API_URL: github.apiUrl,
      GITHUB_REPOS: 'acme-gh/web',
      API_MAX_RPS: '50',
      SCRAPE_SCHEDULE: '0 0 1 1 *',
    });
    const auth = async (scraper: string) =>
      sample(await getMetrics(app.url), `delivery_scrape_errors_total{scraper="${scraper}",kind="auth"}`) ??
      0;
    try {
      await app.service.scrapers.runOnce();
      assert.ok((await auth('gitlab')) > 0 && (await auth('github')) > 0, 'the old tokens are refused');
      const before = { gitlab: await auth('gitlab'), github: await auth('github') };
      writeFileSync(join(dir, 'GITLAB_TOKEN'), 'new-gitlab');
      writeFileSync(join(dir, 'GITHUB_TOKEN'), 'new-github');
      await until(async () => app.logs.filter((l) => l.msg === 'secrets reloaded').length > 0);
      gitlab.resetLog();
      github.resetLog();
      await app.service.scrapers.runOnce();
      assert.equal(await auth('gitlab'), before.gitlab);
      assert.equal(await auth('github'), before.github);
      assert.equal(gitlab.requestCount({ status: 401 }), 0);
      assert.equal(github.requestCount({ status: 401 }), 0);
      assert.ok(gitlab.requestCount() > 0 && github.requestCount() > 0);
    } finally {
      await app.stop();
      await gitlab.close();
      await github.close();
    }
  });
});
