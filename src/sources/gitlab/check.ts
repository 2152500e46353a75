import { parseJsonBody, type SourceCheck } from '../webhook-check.js';
import { parseGitlab } from './parse.js';
import { gitlabProjectOf } from './project-of.js';
import { verifyGitlabToken } from './verify.js';

/** POST /webhooks/gitlab before state (SPEC section 4): JSON, `X-Gitlab-Token`, GitLab's shapes. */
export const gitlabCheck: SourceCheck = {
  source: 'gitlab',
  headers: ['x-gitlab-token'],
  decode: (_headers, raw) => parseJsonBody(raw.toString('utf8')),
  authenticate: (headers, _raw, body, secrets) => {
    const project = gitlabProjectOf(body);
    const token = headers['x-gitlab-token'] || undefined;
    if (!verifyGitlabToken(secrets, project, token)) {
      return { claimed: project.path ?? project.id ?? '', secretSent: token !== undefined };
    }
    // A group is no project (and for its last segment alone any configured secret passes): no
    // `delivery_webhook_last_received_timestamp_seconds` series is made for it.
    if (project.segmentOnly === true || project.groupOnly === true) return '';
    return project.path ?? project.id ?? 'unknown';
  },
  parse: (_headers, body) => parseGitlab(body),
};
