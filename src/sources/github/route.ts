import type { IncomingMessage } from 'node:http';
import typeis from 'type-is';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { EventProcessor } from '../../events/processor.js';
import { type FastRoute, header } from '../../http/fast-routes.js';
import { HttpError } from '../../http/http-error.js';
import type { ServiceMetrics } from '../../metrics/service-metrics.js';
import type { Secrets } from '../../secrets/secrets.js';
import { parseJsonBody, webhookIntake } from '../webhook-intake.js';
import { parseGithub } from './parse.js';
import { GithubVerifier, githubOwnerOf } from './verify.js';

/** `X-GitHub-Event` values kept as `event` label values; anything else is `other`. */
const EVENTS = new Set([
  'workflow_run',
  'workflow_job',
  'deployment',
  'deployment_status',
  'pull_request',
  'release',
  'ping',
  'push',
  'check_run',
  'check_suite',
  'create',
  'delete',
  'issues',
  'issue_comment',
  'pull_request_review',
  'pull_request_review_comment',
  'status',
  'workflow_dispatch',
]);

interface Deps {
  secrets: Secrets;
  processor: EventProcessor;
  metrics: ServiceMetrics;
  clock: Clock;
  log: Logger;
}

/** A form-encoded delivery (`payload=`), as GitHub sends when the hook's content type is form. */
function isForm(req: IncomingMessage): boolean {
  return typeis(req, ['application/x-www-form-urlencoded']) !== false;
}

/** POST /webhooks/github (SPEC section 4): JSON, or form-encoded with the JSON in `payload`. */
export function githubWebhookRoute(deps: Deps): FastRoute {
  const verifier = new GithubVerifier(deps.secrets);
  return webhookIntake<unknown>(
    {
      source: 'github',
      event: (req) => {
        const name = header(req, 'x-github-event');
        return EVENTS.has(name) ? name : 'other';
      },
      decode: (req, raw) => {
        let text = raw.toString('utf8');
        if (isForm(req)) {
          const payload = new URLSearchParams(text).get('payload');
          if (payload === null) throw new HttpError(400, 'form body has no payload field');
          text = payload;
        }
        return parseJsonBody(text);
      },
      authenticate: async (req, raw, body) => {
        const owner = githubOwnerOf(body);
        const ok = await verifier.verify(raw, owner, header(req, 'x-hub-signature-256') || undefined);
        if (!ok) return false;
        const repo = (body as { repository?: { full_name?: unknown } }).repository?.full_name;
        return typeof repo === 'string' ? repo : (owner ?? 'unknown');
      },
      parse: (req, body) => parseGithub(header(req, 'x-github-event'), body),
      deliveryHeader: 'x-github-delivery',
    },
    {
      processor: deps.processor,
      metrics: deps.metrics,
      clock: deps.clock,
      log: deps.log.child({ component: 'github' }),
      contentTypes: ['application/json', 'application/x-www-form-urlencoded'],
    },
  );
}
