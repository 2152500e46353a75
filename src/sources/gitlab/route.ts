import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { EventProcessor } from '../../events/processor.js';
import { type FastRoute, header } from '../../http/fast-routes.js';
import type { ServiceMetrics } from '../../metrics/service-metrics.js';
import type { Secrets } from '../../secrets/secrets.js';
import { parseJsonBody, webhookIntake } from '../webhook-intake.js';
import { parseGitlab } from './parse.js';
import { gitlabProjectOf } from './project-of.js';
import { verifyGitlabToken } from './verify.js';

/** `X-Gitlab-Event` values, as bounded `event` label values; anything else is `other`. */
const EVENTS: Record<string, string> = {
  'Job Hook': 'job',
  'Pipeline Hook': 'pipeline',
  'Deployment Hook': 'deployment',
  'Merge Request Hook': 'merge_request',
  'Release Hook': 'release',
  'Push Hook': 'push',
  'Tag Push Hook': 'tag_push',
  'Note Hook': 'note',
  'Issue Hook': 'issue',
  'Confidential Issue Hook': 'issue',
  'Confidential Note Hook': 'note',
  'Wiki Page Hook': 'wiki_page',
  'Member Hook': 'member',
  'Project Hook': 'project',
  'Subgroup Hook': 'subgroup',
  'Feature Flag Hook': 'feature_flag',
  'Milestone Hook': 'milestone',
  'Emoji Hook': 'emoji',
  'Resource Access Token Hook': 'resource_access_token',
  'Vulnerability Hook': 'vulnerability',
  'System Hook': 'system',
};

interface Deps {
  secrets: Secrets;
  processor: EventProcessor;
  metrics: ServiceMetrics;
  clock: Clock;
  log: Logger;
}

/** POST /webhooks/gitlab (SPEC section 4). */
export function gitlabWebhookRoute(deps: Deps): FastRoute {
  return webhookIntake<unknown>(
    {
      source: 'gitlab',
      event: (req) => EVENTS[header(req, 'x-gitlab-event')] ?? 'other',
      decode: (_req, raw) => {
        return parseJsonBody(raw.toString('utf8'));
      },
      authenticate: (req, _raw, body) => {
        const project = gitlabProjectOf(body);
        const ok = verifyGitlabToken(deps.secrets, project, header(req, 'x-gitlab-token') || undefined);
        return ok ? (project.path ?? project.id ?? 'unknown') : false;
      },
      parse: (_req, body) => parseGitlab(body),
      // X-Gitlab-Event-UUID is shared by recursive hooks, so only Idempotency-Key names a delivery.
      deliveryHeader: 'idempotency-key',
    },
    {
      processor: deps.processor,
      metrics: deps.metrics,
      clock: deps.clock,
      log: deps.log.child({ component: 'gitlab' }),
      contentTypes: ['application/json'],
    },
  );
}
