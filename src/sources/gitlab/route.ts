import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { EventProcessor } from '../../events/processor.js';
import { type FastRoute, header } from '../../http/fast-routes.js';
import type { LastReceived } from '../../metrics/last-received.js';
import type { ServiceMetrics } from '../../metrics/service-metrics.js';
import type { WebhookChecker } from '../check-pool.js';
import { webhookIntake } from '../webhook-intake.js';
import { gitlabCheck } from './check.js';

/** `X-Gitlab-Event` values, as bounded `event` label values; anything else is `other`. */
const EVENTS: Record<string, string> = {
  'Job Hook': 'job',
  // GitLab before 9.3 (and some integrations) named Job Hooks so.
  'Build Hook': 'job',
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
  checker: WebhookChecker;
  processor: EventProcessor;
  metrics: ServiceMetrics;
  lastReceived: LastReceived;
  clock: Clock;
  log: Logger;
}

/** POST /webhooks/gitlab (SPEC section 4). */
export function gitlabWebhookRoute(deps: Deps): FastRoute {
  return webhookIntake(
    {
      check: gitlabCheck,
      event: (req) => EVENTS[header(req, 'x-gitlab-event')] ?? 'other',
      // X-Gitlab-Event-UUID is shared by recursive hooks, so only Idempotency-Key names a delivery.
      deliveryHeader: 'idempotency-key',
    },
    {
      checker: deps.checker,
      processor: deps.processor,
      metrics: deps.metrics,
      lastReceived: deps.lastReceived,
      clock: deps.clock,
      log: deps.log.child({ component: 'gitlab' }),
      contentTypes: ['application/json'],
    },
  );
}
