import type { FakeGithub } from './fake-api/fake-github.js';
import { example } from './github.js';

/** GitHub's side of the scraper tests: runs and jobs, as the API shows them and as hooks told them. */
export interface SimulatedGithubHook {
  readonly event: 'workflow_run' | 'workflow_job';
  readonly body: Record<string, unknown>;
  /** False for a re-run's earlier attempt: the runs list shows only the latest attempt. */
  readonly repairable: boolean;
}

const REPO = {
  id: 555,
  node_id: 'R_555',
  name: 'web',
  full_name: 'acme-gh/web',
  private: false,
  owner: { login: 'acme-gh', id: 9, type: 'Organization' },
  default_branch: 'main',
};

type Conclusion = 'success' | 'failure' | 'cancelled';

interface SimJob {
  id: number;
  name: string;
  conclusion: Conclusion;
  created: number;
  started: number | null;
  completed: number;
}

interface SimAttempt {
  conclusion: Conclusion;
  started: number;
  updated: number;
  jobs: SimJob[];
}

interface SimRun {
  id: number;
  name: string;
  path: string;
  event: string;
  branch: string;
  created: number;
  attempts: SimAttempt[];
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

export function simulateGithub(now: number) {
  const t = Math.floor(now) - 3 * 3600;
  const j = (
    id: number,
    name: string,
    conclusion: Conclusion,
    created: number,
    wait: number,
    run: number,
  ): SimJob => ({
    id,
    name,
    conclusion,
    created,
    started: created + wait,
    completed: created + wait + run,
  });
  const runs: SimRun[] = [
    {
      id: 3001,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      event: 'push',
      branch: 'main',
      created: t,
      attempts: [
        {
          conclusion: 'success',
          started: t + 5,
          updated: t + 300,
          jobs: [j(4001, 'build', 'success', t + 5, 10, 100), j(4002, 'test', 'success', t + 120, 20, 150)],
        },
      ],
    },
    {
      id: 3002,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      event: 'pull_request',
      branch: 'feature/x',
      created: t + 1000,
      attempts: [
        {
          conclusion: 'failure',
          started: t + 1002,
          updated: t + 1100,
          jobs: [j(4011, 'lint', 'failure', t + 1002, 8, 40)],
        },
      ],
    },
    {
      id: 3003,
      name: '',
      path: '.github/workflows/deploy.yml',
      event: 'push',
      branch: 'main',
      created: t + 2000,
      attempts: [
        {
          conclusion: 'cancelled',
          started: t + 2001,
          updated: t + 2060,
          jobs: [
            {
              id: 4021,
              name: 'deploy',
              conclusion: 'cancelled',
              created: t + 2001,
              started: null,
              completed: t + 2060,
            },
          ],
        },
      ],
    },
    {
      id: 3004,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      event: 'push',
      branch: 'main',
      created: t + 3000,
      attempts: [
        {
          conclusion: 'failure',
          started: t + 3002,
          updated: t + 3200,
          jobs: [j(4031, 'test', 'failure', t + 3002, 5, 150)],
        },
        {
          conclusion: 'success',
          started: t + 4000,
          updated: t + 4200,
          jobs: [j(4032, 'test', 'success', t + 4000, 6, 160)],
        },
      ],
    },
  ];
  return { runs, apply: (fake: FakeGithub) => apply(fake, runs), hooks: hooks(runs) };
}

function apply(fake: FakeGithub, runs: SimRun[]): void {
  fake.addRepo({ id: REPO.id, owner: REPO.owner.login, name: REPO.name, default_branch: 'main' });
  for (const r of runs) {
    const last = r.attempts[r.attempts.length - 1] as SimAttempt;
    fake.addRun(REPO.full_name, {
      id: r.id,
      name: r.name,
      path: r.path,
      event: r.event,
      head_branch: r.branch,
      run_attempt: r.attempts.length,
      status: 'completed',
      conclusion: last.conclusion,
      created_at: r.created * 1000,
      updated_at: last.updated * 1000,
      run_started_at: last.started * 1000,
    });
    r.attempts.forEach((a, i) => {
      for (const job of a.jobs) {
        fake.addJob(REPO.full_name, r.id, {
          id: job.id,
          run_attempt: i + 1,
          name: job.name,
          workflow_name: r.name === '' ? r.path : r.name,
          head_branch: r.branch,
          status: 'completed',
          conclusion: job.conclusion,
          created_at: job.created * 1000,
          started_at: (job.started ?? job.created) * 1000,
          completed_at: job.completed * 1000,
          labels: ['ubuntu-latest'],
          runner_name: job.started === null ? null : 'GitHub Actions 7',
          runner_group_name: job.started === null ? null : 'GitHub Actions',
        });
      }
    });
  }
}

function hooks(runs: SimRun[]): SimulatedGithubHook[] {
  const out: SimulatedGithubHook[] = [];
  const runBase = example(
    'workflow_run',
    (e) => (e.workflow_run as { conclusion: string }).conclusion === 'success',
  );
  const jobBase = example('workflow_job', (e) => e.action === 'completed');
  for (const r of runs) {
    r.attempts.forEach((a, i) => {
      const final = i === r.attempts.length - 1;
      const run = (action: string, status: string, conclusion: string | null) => ({
        ...runBase,
        action,
        repository: REPO,
        workflow_run: {
          ...(runBase.workflow_run as object),
          id: r.id,
          name: r.name,
          path: r.path,
          event: r.event,
          head_branch: r.branch,
          run_attempt: i + 1,
          status,
          conclusion,
          created_at: iso(r.created),
          run_started_at: iso(a.started),
          updated_at: iso(status === 'completed' ? a.updated : a.started),
        },
      });
      out.push({ event: 'workflow_run', body: run('in_progress', 'in_progress', null), repairable: true });
      for (const job of a.jobs) {
        const payload = (action: string, status: string, conclusion: string | null) => ({
          ...jobBase,
          action,
          repository: REPO,
          workflow_job: {
            ...(jobBase.workflow_job as object),
            id: job.id,
            run_id: r.id,
            run_attempt: i + 1,
            name: job.name,
            workflow_name: r.name === '' ? r.path : r.name,
            head_branch: r.branch,
            status,
            conclusion,
            created_at: iso(job.created),
            started_at: iso(job.started ?? job.created),
            completed_at: status === 'completed' ? iso(job.completed) : null,
            labels: ['ubuntu-latest'],
            runner_name: job.started === null || status === 'queued' ? null : 'GitHub Actions 7',
            runner_group_name: job.started === null || status === 'queued' ? null : 'GitHub Actions',
          },
        });
        out.push({ event: 'workflow_job', body: payload('queued', 'queued', null), repairable: true });
        if (job.started !== null)
          out.push({
            event: 'workflow_job',
            body: payload('in_progress', 'in_progress', null),
            repairable: true,
          });
        out.push({
          event: 'workflow_job',
          body: payload('completed', 'completed', job.conclusion),
          repairable: true,
        });
      }
      out.push({
        event: 'workflow_run',
        body: run('completed', 'completed', a.conclusion),
        repairable: final,
      });
    });
  }
  return out;
}
