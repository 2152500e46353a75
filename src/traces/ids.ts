import { hash } from 'node:crypto';

/**
 * Trace and span ids derived from the ids in the payload (SPEC section 10), so that every
 * replica, every redelivery and the scraper's repair of a missed webhook name the same span.
 *
 * GitHub follows the OpenTelemetry Collector's githubreceiver, so that spans made by it, or by
 * a `TRACEPARENT` computed inside a job the same way, join ours: the trace is the run attempt's
 * (`sha256("<run id><attempt>t")`, first 16 bytes), its root span `sha256("<run id><attempt>s")`
 * bytes 8-15, a job `sha256("<job id>-j")` and its queue `sha256("<job id>-q")` bytes 8-15 (the
 * check-run-id scheme, its default since v0.151.0).
 *
 * GitLab has no such reference (the collector's gitlabreceiver hashes the pipeline's finish
 * time, which a child pipeline cannot know of its parent): the same shapes with a `gitlab-`
 * prefix, over ids alone. Pipeline and job ids are unique on a GitLab instance.
 */
function sha256Hex(input: string): string {
  // One-shot: half the cost of createHash().update().digest() (several ids a finished job).
  return hash('sha256', input, 'hex');
}

const traceIdOf = (input: string) => sha256Hex(input).slice(0, 32);
const spanIdOf = (input: string) => sha256Hex(input).slice(16, 32);

export const githubTraceId = (runId: string, attempt: string) => traceIdOf(`${runId}${attempt}t`);
export const githubRunSpanId = (runId: string, attempt: string) => spanIdOf(`${runId}${attempt}s`);
export const githubJobSpanId = (jobId: string) => spanIdOf(`${jobId}-j`);
export const githubQueueSpanId = (jobId: string) => spanIdOf(`${jobId}-q`);

export const gitlabTraceId = (pipelineId: string) => traceIdOf(`gitlab-${pipelineId}t`);
export const gitlabPipelineSpanId = (pipelineId: string) => spanIdOf(`gitlab-${pipelineId}s`);
export const gitlabJobSpanId = (jobId: string) => spanIdOf(`gitlab-${jobId}-j`);
export const gitlabQueueSpanId = (jobId: string) => spanIdOf(`gitlab-${jobId}-q`);
