import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Secrets } from '../../src/secrets/secrets.js';
import { InlineChecker, ThreadChecker } from '../../src/sources/check-pool.js';
import type { Checked } from '../../src/sources/webhook-check.js';
import { example, GITHUB_SECRET, postGithub } from '../helpers/github.js';
import { GITLAB_SECRET, jobHook, postGitlab } from '../helpers/gitlab.js';
import { getMetrics, startTestApp, type TestApp } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const ENV = { GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET };

async function until(check: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One of everything the intake answers: processed, duplicate, ignored, invalid, 400, 401. */
async function deliverMix(url: string): Promise<Array<{ status: number; outcome?: string }>> {
  const answers: Array<{ status: number; body: { outcome?: string } }> = [];
  for (const [id, status] of [
    [1, 'pending'],
    [1, 'running'],
    [1, 'success'],
    [2, 'failed'],
  ] as const) {
    answers.push(
      await postGitlab(
        url,
        jobHook({
          id,
          status,
          queued: 5,
          runnerType: 'instance_type',
          ...(status === 'pending' ? {} : { startedAt: '2026-11-20T10:00:05.000Z' }),
          ...(status === 'success' || status === 'failed'
            ? { finishedAt: '2026-11-20T10:01:05.000Z', duration: 60 }
            : {}),
        }),
        { key: `k-${id}-${status}` },
      ),
    );
  }
  answers.push(await postGitlab(url, jobHook({ id: 1, status: 'success' }), { key: 'k-1-success' }));
  answers.push(await postGitlab(url, { object_kind: 'push' }, { event: 'Push Hook' }));
  answers.push(await postGitlab(url, { ...jobHook({ id: 3, status: 'success' }), build_duration: 'long' }));
  answers.push(await postGitlab(url, '{"not json'));
  answers.push(await postGitlab(url, jobHook({ id: 4, status: 'success' }), { token: 'wrong' }));
  const job = example('workflow_job', (e) => e.action === 'completed');
  answers.push(await postGithub(url, 'workflow_job', job));
  answers.push(await postGithub(url, 'workflow_job', job, { secret: 'wrong' }));
  answers.push(await postGithub(url, 'ping', { zen: 'Keep it logically awesome.', hook_id: 1 }));
  return answers.map((a) => ({ status: a.status, ...(a.body.outcome ? { outcome: a.body.outcome } : {}) }));
}

/** `/metrics` without what differs between two runs by time (processing time, last received). */
function comparable(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('delivery_'))
    .filter((l) => !l.startsWith('delivery_webhook_processing_seconds'))
    .filter((l) => !l.startsWith('delivery_webhook_last_received_timestamp_seconds'));
}

describe('webhook check threads (WEBHOOK_THREADS)', () => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
  });

  it('give the same answers and the same metrics as checks on the main thread', async () => {
    const inline = await startTestApp({ ...ENV, WEBHOOK_THREADS: '0' });
    const threaded = await startTestApp({ ...ENV, WEBHOOK_THREADS: '2' });
    apps.push(inline, threaded);
    await until(() => threaded.service.checker.counts().threadsUp === 2);

    const a = await deliverMix(inline.url);
    const b = await deliverMix(threaded.url);
    assert.deepEqual(b, a);
    // Every kind of answer is in the mix.
    assert.deepEqual([...new Set(a.map((x) => `${x.status} ${x.outcome ?? ''}`.trim()))].sort(), [
      '200 duplicate',
      '200 ignored',
      '200 processed',
      '202 invalid',
      '400',
      '401',
    ]);
    assert.deepEqual(comparable(await getMetrics(threaded.url)), comparable(await getMetrics(inline.url)));

    assert.deepEqual(inline.service.checker.counts(), { threads: 0, inline: a.length, threadsUp: 0 });
    assert.deepEqual(threaded.service.checker.counts(), { threads: b.length, inline: 0, threadsUp: 2 });
  });

  it('take a rotated webhook secret from SECRETS_DIR without a restart', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API'), 'old-token\n');
    const app = await startTestApp({ SECRETS_DIR: dir, WEBHOOK_THREADS: '1' });
    apps.push(app);
    let id = 100;
    const post = (token: string) => postGitlab(app.url, jobHook({ id: id++, status: 'pending' }), { token });
    assert.equal((await post('old-token')).status, 200);
    assert.equal((await post('new-token')).status, 401);

    writeFileSync(join(dir, '.tmp'), 'new-token');
    renameSync(join(dir, '.tmp'), join(dir, 'GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API'));
    await until(async () => (await post('new-token')).status === 200);
    assert.equal((await post('old-token')).status, 401);

    const counts = app.service.checker.counts();
    assert.equal(counts.inline, 0);
    assert.ok(counts.threads >= 4);
    assert.ok(!app.rawLogs().includes('old-token'));
    assert.ok(!app.rawLogs().includes('new-token'));
  });
});

describe('ThreadChecker', () => {
  const secrets = new Secrets({ GITLAB_WEBHOOK_TOKEN_101: 't' }, undefined);
  const log = pino({ level: 'silent' });
  const body = (id: number) => Buffer.from(JSON.stringify(jobHook({ id, status: 'pending' })));
  const verdicts = (all: Checked[]) => all.map((c) => (c.kind === 'events' ? c.events[0]?.kind : c.kind));

  it('checks on the main thread what a thread had when it died, and starts a new one', async () => {
    const checker = new ThreadChecker({ threads: 1, secrets, log });
    try {
      await until(() => checker.counts().threadsUp === 1);
      const [worker] = checker.workers;
      const inFlight = Array.from({ length: 40 }, (_, i) =>
        checker.check('gitlab', { 'x-gitlab-token': i % 2 === 0 ? 't' : 'wrong' }, body(i)),
      );
      await worker?.terminate();
      const checked = await Promise.all(inFlight);
      assert.deepEqual(
        verdicts(checked),
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'job' : 'unauthorized')),
      );
      const { threads, inline } = checker.counts();
      assert.equal(threads + inline, 40);
      assert.ok(inline > 0, 'some requests were still with the thread when it died');

      // A new thread takes over after a pause.
      await until(() => checker.counts().threadsUp === 1);
      assert.notEqual(checker.workers[0], worker);
      const after = await checker.check('gitlab', { 'x-gitlab-token': 't' }, body(99));
      assert.equal(verdicts([after])[0], 'job');
      assert.equal(checker.counts().threads, threads + 1);
    } finally {
      await checker.close();
    }
  });

  it('checks bodies too large for its shared ring, and many at once that overflow it, the same', async () => {
    const checker = new ThreadChecker({ threads: 1, secrets, log });
    try {
      await until(() => checker.counts().threadsUp === 1);
      // 1.5 MiB: more than the ring holds, so its batch travels in a buffer of its own.
      const large = (id: number) =>
        Buffer.from(
          JSON.stringify({ ...jobHook({ id, status: 'pending' }), padding: 'x'.repeat(1_500_000) }),
        );
      // 300 bodies of ~4 KB at once: batches go to the ring while others are still in it.
      const many = Array.from({ length: 300 }, (_, i) => body(1000 + i));
      const checked = await Promise.all([
        checker.check('gitlab', { 'x-gitlab-token': 't' }, large(1)),
        ...many.map((b) => checker.check('gitlab', { 'x-gitlab-token': 't' }, b)),
        checker.check('gitlab', { 'x-gitlab-token': 't' }, large(2)),
      ]);
      assert.deepEqual(
        checked.map((c) => (c.kind === 'events' && c.events[0]?.kind === 'job' ? c.events[0].jobId : c.kind)),
        ['1', ...many.map((_, i) => String(1000 + i)), '2'],
      );
      assert.equal(checker.counts().threads, 302, 'all on the thread');
    } finally {
      await checker.close();
    }
  });

  it('gives the same verdicts as the main thread, with the main thread’s errors', async () => {
    const checker = new ThreadChecker({ threads: 2, secrets, log });
    const inline = new InlineChecker(secrets);
    try {
      const cases: Array<['gitlab' | 'github', Record<string, string>, Buffer]> = [
        ['gitlab', { 'x-gitlab-token': 't' }, body(1)],
        ['gitlab', { 'x-gitlab-token': 't' }, Buffer.from('{"build_id": ')],
        ['gitlab', { 'x-gitlab-token': '' }, body(2)],
        [
          'gitlab',
          { 'x-gitlab-token': 't' },
          Buffer.from(JSON.stringify({ ...jobHook({ id: 3, status: 'x' }), build_id: {} })),
        ],
        [
          'github',
          { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-hub-signature-256': '' },
          Buffer.from('{}'),
        ],
      ];
      const threaded = await Promise.all(cases.map(([s, h, b]) => checker.check(s, h, b)));
      const main = await Promise.all(cases.map(([s, h, b]) => inline.check(s, h, b)));
      assert.deepEqual(threaded, main);
      assert.deepEqual(
        threaded.map((c) => c.kind),
        ['events', 'unreadable', 'unauthorized', 'invalid', 'unauthorized'],
      );
    } finally {
      await checker.close();
    }
  });
});
