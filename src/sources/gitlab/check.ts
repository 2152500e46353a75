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
    const ok = verifyGitlabToken(secrets, project, headers['x-gitlab-token'] || undefined);
    return ok ? (project.path ?? project.id ?? 'unknown') : false;
  },
  parse: (_headers, body) => parseGitlab(body),
};
