import assert from 'node:assert/strict';
import { GITLAB_SECRET, jobHook, pipelineHook, postGitlab } from '../helpers/gitlab.js';
import { startProgram } from '../helpers/program.js';
import { getMetrics, sample } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the built program: webhooks survive kill -9 (acceptance)', function () {
  this.timeout(60_000);

  it('loses nothing acknowledged, and still knows what it has seen', async () => {
    const env = { DATA_DIR: tempDir(), GITLAB_WEBHOOK_TOKEN_101: GITLAB_SECRET };
    let program = await startProgram(env);
    const finished = (id: number) =>
      jobHook({
        id,
        status: 'success',
        startedAt: '2026-11-20T10:00:00Z',
        duration: 30,
        queued: 2,
        runnerType: 'instance_type',
      });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postGitlab(program.url, finished(1000 + i))),
    );
    assert.ok(answers.every((a) => a.status === 200 && a.body.outcome === 'processed'));
    const last = await postGitlab(
      program.url,
      pipelineHook({ id: 77, status: 'success', finishedAt: '2026-11-20 10:05:00 UTC', duration: 290 }),
      { key: 'delivery-77' },
    );
    assert.equal(last.status, 200);
    program.child.kill('SIGKILL');
    await program.exited;

    program = await startProgram(env);
    try {
      const P = 'source="gitlab",project="acme/payments-api"';
      let text = await getMetrics(program.url);
      assert.equal(
        sample(text, `delivery_job_runs_total{${P},ref="main",stage="test",job="rspec",status="success"}`),
        50,
      );
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="instance"}`), 50);
      assert.equal(
        sample(text, `delivery_pipeline_runs_total{${P},pipeline="push",ref="main",status="success"}`),
        1,
      );
      // Dedupe state survived too: redeliveries change nothing.
      assert.equal((await postGitlab(program.url, finished(1000))).body.outcome, 'duplicate');
      assert.equal(
        (
          await postGitlab(
            program.url,
            pipelineHook({ id: 77, status: 'success', finishedAt: '2026-11-20 10:05:00 UTC', duration: 290 }),
            { key: 'delivery-77' },
          )
        ).body.outcome,
        'duplicate',
      );
      text = await getMetrics(program.url);
      assert.equal(
        sample(text, `delivery_job_runs_total{${P},ref="main",stage="test",job="rspec",status="success"}`),
        50,
      );
    } finally {
      program.child.kill('SIGKILL');
      await program.exited;
    }
  });
});
