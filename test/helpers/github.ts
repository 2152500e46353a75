import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const EXAMPLES = require('@octokit/webhooks-examples') as Array<{
  name: string;
  examples: Array<Record<string, unknown>>;
}>;

/** A deep copy of one example payload of @octokit/webhooks-examples. */
export function example(
  event: string,
  pick: (e: Record<string, unknown>) => boolean = () => true,
): Record<string, unknown> {
  const found = EXAMPLES.find((x) => x.name === event)?.examples.find(pick);
  if (found === undefined) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

export const GITHUB_SECRET = 'github-default-secret';

export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface GithubPostOptions {
  secret?: string;
  delivery?: string;
  form?: boolean;
  /** Sends exactly these headers instead of the computed signature headers. */
  signatureHeaders?: Record<string, string>;
  /** Changes the body after it was signed. */
  tamper?: (body: string) => string;
  contentType?: string;
}

let deliveries = 0;

/** POSTs a payload the way GitHub does: signed, with X-GitHub-Event and X-GitHub-Delivery. */
export async function postGithub(
  url: string,
  event: string,
  payload: unknown,
  o: GithubPostOptions = {},
): Promise<{ status: number; body: { outcome?: string; error?: string } }> {
  const json = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const body = o.form ? new URLSearchParams({ payload: json }).toString() : json;
  const headers: Record<string, string> = {
    'Content-Type': o.contentType ?? (o.form ? 'application/x-www-form-urlencoded' : 'application/json'),
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': o.delivery ?? `delivery-${process.pid}-${++deliveries}`,
    'User-Agent': 'GitHub-Hookshot/abc123',
    ...(o.signatureHeaders ?? {
      'X-Hub-Signature': `sha1=${createHmac('sha1', o.secret ?? GITHUB_SECRET)
        .update(body)
        .digest('hex')}`,
      'X-Hub-Signature-256': sign(o.secret ?? GITHUB_SECRET, body),
    }),
  };
  const res = await fetch(`${url}/webhooks/github`, {
    method: 'POST',
    headers,
    body: o.tamper ? o.tamper(body) : body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as { outcome?: string; error?: string }),
  };
}

/** The completed `linters` job of the examples (Codertocat/Hello-World, workflow CodeQL). */
export function linters(
  action: 'queued' | 'in_progress' | 'completed',
  changes: Record<string, unknown> = {},
) {
  const payload = example(
    'workflow_job',
    (e) => e.action === 'completed' && (e.workflow_job as { conclusion: string }).conclusion === 'failure',
  );
  const job = payload.workflow_job as Record<string, unknown>;
  payload.action = action;
  Object.assign(job, {
    status: action,
    conclusion: action === 'completed' ? job.conclusion : null,
    completed_at: action === 'completed' ? job.completed_at : null,
    ...(action === 'queued'
      ? { runner_id: null, runner_name: null, runner_group_id: null, runner_group_name: null }
      : {}),
    ...changes,
  });
  return payload;
}
