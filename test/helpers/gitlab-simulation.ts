import type { FakeGitlab } from './fake-api/fake-gitlab.js';
import { fixture, PROJECT } from './gitlab.js';

/**
 * A morning of CI on one GitLab project, told twice: as the state the GitLab API shows
 * afterwards (applied to a FakeGitlab) and as the webhooks GitLab sent on the way. Tests drop
 * some of the webhooks and let the scrapers repair the rest.
 */
export interface SimulatedHook {
  readonly body: Record<string, unknown>;
  /**
   * False for what the API cannot show afterwards: the intermediate final status of a
   * pipeline that was later retried (the API only shows the pipeline's latest attempt).
   */
  readonly repairable: boolean;
}

type Final = 'success' | 'failed' | 'canceled';

interface SimJob {
  id: number;
  name: string;
  stage: string;
  status: Final;
  created: number;
  started: number;
  finished: number;
  runner: 'instance_type' | 'group_type' | 'project_type';
  retried?: boolean;
}

interface Attempt {
  status: Final;
  started: number;
  finished: number;
  jobs: SimJob[];
}

interface SimPipeline {
  id: number;
  ref: string;
  source: string;
  created: number;
  attempts: Attempt[];
  deployment?: { id: number; environment: string; job: SimJob };
}

const iso = (s: number) => new Date(s * 1000).toISOString();
const utc = (s: number) => `${iso(s).slice(0, 19).replace('T', ' ')} UTC`;
const offset = (s: number) => `${iso(s).slice(0, 19).replace('T', ' ')} +0000`;

function job(
  id: number,
  name: string,
  stage: string,
  status: Final,
  created: number,
  wait: number,
  run: number,
  runner: SimJob['runner'] = 'instance_type',
): SimJob {
  return {
    id,
    name,
    stage,
    status,
    created,
    started: created + wait,
    finished: created + wait + run,
    runner,
  };
}

/** Builds the scenario relative to `now` (unix seconds): everything finished before now. */
export function simulateGitlab(now: number) {
  const t0 = Math.floor(now) - 4 * 3600;
  const pipelines: SimPipeline[] = [];
  // 1: a green main pipeline that deploys to production.
  const deploy = job(1103, 'deploy', 'deploy', 'success', t0 + 300, 5, 120, 'group_type');
  pipelines.push({
    id: 9001,
    ref: 'main',
    source: 'push',
    created: t0,
    attempts: [
      {
        status: 'success',
        started: t0 + 10,
        finished: t0 + 425,
        jobs: [
          job(1101, 'build', 'build', 'success', t0, 10, 200),
          job(1102, 'rspec 1/2', 'test', 'success', t0 + 210, 20, 60),
          deploy,
        ],
      },
    ],
    deployment: { id: 501, environment: 'production', job: deploy },
  });
  // 2: a failing merge request pipeline.
  const t1 = t0 + 3600;
  pipelines.push({
    id: 9002,
    ref: 'feature/login',
    source: 'merge_request_event',
    created: t1,
    attempts: [
      {
        status: 'failed',
        started: t1 + 3,
        finished: t1 + 400,
        jobs: [
          job(1201, 'build', 'build', 'success', t1, 3, 100),
          job(1202, 'lint', 'test', 'failed', t1 + 110, 30, 10, 'project_type'),
        ],
      },
    ],
  });
  // 3: fails, then its failed job is retried and the pipeline succeeds.
  const t2 = t0 + 7200;
  const flaky = { ...job(1301, 'rspec', 'test', 'failed', t2, 4, 90), retried: true };
  const again = job(1302, 'rspec', 'test', 'success', t2 + 600, 8, 95);
  pipelines.push({
    id: 9003,
    ref: 'main',
    source: 'push',
    created: t2,
    attempts: [
      { status: 'failed', started: t2 + 4, finished: t2 + 94, jobs: [flaky] },
      { status: 'success', started: t2 + 4, finished: t2 + 703, jobs: [again] },
    ],
  });
  // 4: canceled with a job canceled while pending.
  const t3 = t0 + 9000;
  pipelines.push({
    id: 9004,
    ref: 'v2.0.0',
    source: 'push',
    created: t3,
    attempts: [
      {
        status: 'canceled',
        started: t3 + 2,
        finished: t3 + 50,
        jobs: [{ ...job(1401, 'package', 'build', 'canceled', t3, 0, 0), started: 0, finished: t3 + 50 }],
      },
    ],
  });
  const merge = { id: 701, iid: 7, created: t0 - 86400, merged: t0 - 600 };
  return {
    pipelines,
    apply: (fake: FakeGitlab) => applyToFake(fake, pipelines, merge),
    hooks: hooks(pipelines, merge),
  };
}

function applyToFake(
  fake: FakeGitlab,
  pipelines: SimPipeline[],
  merge: { id: number; iid: number; created: number; merged: number },
) {
  fake.addProject({
    id: PROJECT.id,
    path_with_namespace: PROJECT.path_with_namespace,
    default_branch: 'main',
  });
  for (const p of pipelines) {
    const last = p.attempts[p.attempts.length - 1] as Attempt;
    fake.addPipeline(PROJECT.id, {
      id: p.id,
      ref: p.ref,
      status: last.status,
      source: p.source,
      name: null,
      created_at: p.created * 1000,
      updated_at: last.finished * 1000,
      started_at: p.attempts[0] === undefined ? null : p.attempts[0].started * 1000,
      finished_at: last.finished * 1000,
      duration: last.finished - (p.attempts[0]?.started ?? p.created),
      queued_duration: (p.attempts[0]?.started ?? p.created) - p.created,
      tag: p.ref.startsWith('v'),
    });
    for (const a of p.attempts) {
      for (const j of a.jobs) {
        fake.addJob(PROJECT.id, p.id, {
          id: j.id,
          name: j.name,
          stage: j.stage,
          status: j.status,
          created_at: j.created * 1000,
          started_at: j.started === 0 ? null : j.started * 1000,
          finished_at: j.finished * 1000,
          duration: j.started === 0 ? null : j.finished - j.started,
          queued_duration: j.started === 0 ? null : j.started - j.created,
          runner_type: j.started === 0 ? null : j.runner,
          retried: j.retried === true,
        });
      }
    }
    if (p.deployment !== undefined) {
      const d = p.deployment;
      fake.addEnvironment(PROJECT.id, { id: 1, name: d.environment });
      fake.addDeployment(PROJECT.id, {
        id: d.id,
        status: 'success',
        created_at: d.job.created * 1000,
        updated_at: d.job.finished * 1000,
        finished_at: d.job.finished * 1000,
        environment: { id: 1, name: d.environment },
        deployable_job_id: d.job.id,
      });
    }
  }
  fake.addMergeRequest(PROJECT.id, {
    id: merge.id,
    iid: merge.iid,
    target_branch: 'main',
    source_branch: 'feature/x',
    state: 'merged',
    created_at: merge.created * 1000,
    updated_at: merge.merged * 1000,
    merged_at: merge.merged * 1000,
  });
}

function hooks(
  pipelines: SimPipeline[],
  merge: { id: number; iid: number; created: number; merged: number },
): SimulatedHook[] {
  const out: SimulatedHook[] = [];
  const jobBase = fixture('job-hook');
  const pipelineBase = fixture('pipeline-hook');
  const jobHook = (p: SimPipeline, j: SimJob, status: string): Record<string, unknown> => {
    const started = status !== 'pending' && j.started !== 0;
    const final = status === j.status;
    return {
      ...jobBase,
      ref: p.ref,
      tag: p.ref.startsWith('v'),
      build_id: j.id,
      build_name: j.name,
      build_stage: j.stage,
      build_status: status,
      build_created_at: iso(j.created).replace('.000Z', '.000Z'),
      build_created_at_iso: null,
      build_started_at: started ? iso(j.started) : null,
      build_started_at_iso: null,
      build_finished_at: final ? iso(j.finished) : null,
      build_finished_at_iso: null,
      build_duration: final && started ? j.finished - j.started : null,
      build_queued_duration: started ? j.started - j.created : null,
      pipeline_id: p.id,
      project_id: PROJECT.id,
      project: PROJECT,
      runner: started ? { ...(jobBase.runner as object), runner_type: j.runner } : null,
    };
  };
  const build = (j: SimJob) => ({
    id: j.id,
    stage: j.stage,
    name: j.name,
    status: j.status,
    created_at: utc(j.created),
    started_at: j.started === 0 ? null : utc(j.started),
    finished_at: utc(j.finished),
    duration: j.started === 0 ? null : j.finished - j.started,
    queued_duration: j.started === 0 ? null : j.started - j.created,
    failure_reason: null,
    when: 'on_success',
    manual: false,
    allow_failure: false,
    user: null,
    runner:
      j.started === 0
        ? null
        : {
            id: 1,
            description: 'runner',
            runner_type: j.runner,
            active: true,
            is_shared: j.runner === 'instance_type',
            tags: [],
          },
    artifacts_file: { filename: null, size: null },
    environment: null,
  });
  const pipelineHook = (
    p: SimPipeline,
    a: Attempt,
    status: string,
    first: Attempt,
  ): Record<string, unknown> => {
    const final = status === a.status;
    return {
      ...pipelineBase,
      object_attributes: {
        ...(pipelineBase.object_attributes as object),
        id: p.id,
        name: null,
        ref: p.ref,
        tag: p.ref.startsWith('v'),
        source: p.source,
        status,
        detailed_status: status,
        created_at: utc(p.created),
        finished_at: final ? utc(a.finished) : null,
        duration: final ? a.finished - first.started : null,
        queued_duration: first.started - p.created,
      },
      merge_request: p.source === 'merge_request_event' ? pipelineBase.merge_request : null,
      project: PROJECT,
      builds: a.jobs.map(build),
    };
  };
  for (const p of pipelines) {
    const first = p.attempts[0] as Attempt;
    p.attempts.forEach((a, i) => {
      const last = i === p.attempts.length - 1;
      out.push({ body: pipelineHook(p, a, 'running', first), repairable: true });
      for (const j of a.jobs) {
        out.push({ body: jobHook(p, j, 'pending'), repairable: true });
        if (j.started !== 0) out.push({ body: jobHook(p, j, 'running'), repairable: true });
        out.push({ body: jobHook(p, j, j.status), repairable: true });
        if (p.deployment !== undefined && p.deployment.job.id === j.id) {
          const d = p.deployment;
          const dep = (status: string, at: number) => ({
            ...fixture('deployment-hook'),
            deployment_id: d.id,
            status,
            status_changed_at: offset(at),
            environment: d.environment,
            project: PROJECT,
          });
          out.push({ body: dep('running', j.started), repairable: true });
          out.push({ body: dep('success', j.finished), repairable: true });
        }
      }
      out.push({ body: pipelineHook(p, a, a.status, first), repairable: last });
    });
  }
  const mr = fixture('merge-request-merge-hook');
  out.push({
    body: {
      ...mr,
      project: PROJECT,
      object_attributes: {
        ...(mr.object_attributes as object),
        id: merge.id,
        iid: merge.iid,
        target_branch: 'main',
        created_at: iso(merge.created),
        updated_at: iso(merge.merged),
        merged_at: iso(merge.merged),
      },
    },
    repairable: true,
  });
  return out;
}
