import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { EventProcessor } from '../../events/processor.js';
import { type FastRoute, header } from '../../http/fast-routes.js';
import type { LastReceived } from '../../metrics/last-received.js';
import type { ServiceMetrics } from '../../metrics/service-metrics.js';
import type { WebhookChecker } from '../check-pool.js';
import { webhookIntake } from '../webhook-intake.js';
import { githubCheck } from './check.js';

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
  checker: WebhookChecker;
  processor: EventProcessor;
  metrics: ServiceMetrics;
  lastReceived: LastReceived;
  clock: Clock;
  log: Logger;
}

/** POST /webhooks/github (SPEC section 4): JSON, or form-encoded with the JSON in `payload`. */
export function githubWebhookRoute(deps: Deps): FastRoute {
  return webhookIntake(
    {
      check: githubCheck,
      event: (req) => {
        const name = header(req, 'x-github-event');
        return EVENTS.has(name) ? name : 'other';
      },
      deliveryHeader: 'x-github-delivery',
    },
    {
      checker: deps.checker,
      processor: deps.processor,
      metrics: deps.metrics,
      lastReceived: deps.lastReceived,
      clock: deps.clock,
      log: deps.log.child({ component: 'github' }),
      contentTypes: ['application/json', 'application/x-www-form-urlencoded'],
    },
  );
}
