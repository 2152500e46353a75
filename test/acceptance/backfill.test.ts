import assert from 'node:assert/strict';
import { eventMetrics } from '../helpers/event-metrics.js';
import { FakeGitlab } from '../helpers/fake-api/fake-gitlab.js';
import { simulateGitlab } from '../helpers/gitlab-simulation.js';
import { runProgram, startProgram } from '../helpers/program.js';
import { getMetrics } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the built program: backfill --since (acceptance)', function () {
  this.timeout(60_000);

  it('repairs history with a progress bar, then the service serves it; a second backfill adds nothing', async () => {
    const fake = await FakeGitlab.start({ token: 'api-token' });
    try {
      simulateGitlab(Date.now() / 1000).apply(fake);
      const env = {
        DATA_DIR: tempDir(),
        GITLAB_URL: fake.url,
        GITLAB_TOKEN: 'api-token',
        GITLAB_GROUPS: 'acme',
        API_MAX_RPS: '20',
        SCRAPE_SCHEDULE: '0 0 1 1 *',
      };
      const first = await runProgram(['backfill', '--since', '2d'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /gitlab\s+\[[^\]]*\] 1\/1 projects/);
      assert.match(first.stderr, /Backfill done\./);
      const again = await runProgram(['backfill', '--since', '2d'], env);
      assert.equal(again.code, 0, again.stderr);

      const program = await startProgram(env);
      try {
        const lines = eventMetrics(await getMetrics(program.url));
        const runs = lines.filter((l) => l.startsWith('delivery_pipeline_runs_total{'));
        // Four pipelines; the first attempt of the retried one is not in the API.
        assert.equal(
          runs.reduce((n, l) => n + Number(l.split(' ').pop()), 0),
          4,
        );
        assert.ok(lines.some((l) => l.startsWith('delivery_deployment_runs_total{')));
        assert.ok(lines.some((l) => l.startsWith('delivery_merge_requests_merged_total{')));
      } finally {
        program.child.kill('SIGTERM');
        await program.exited;
      }
    } finally {
      await fake.close();
    }
  });

  it('says how to use it, and refuses without a scraper configured', async () => {
    const usage = await runProgram(['backfill'], { DATA_DIR: tempDir() });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Usage: delivery-metrics backfill --since <duration>/);
    // Runs counted longer ago than lifecycle state is kept would count again.
    const tooFar = await runProgram(['backfill', '--since', '30d'], { DATA_DIR: tempDir() });
    assert.equal(tooFar.code, 2);
    assert.match(tooFar.stderr, /longer than 14d, as long as lifecycle state is kept/);
    const nothing = await runProgram(['backfill', '--since', '1h'], { DATA_DIR: tempDir() });
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /Nothing to backfill: set GITLAB_URL/);
  });
});
