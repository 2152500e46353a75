import { toUpperSnake } from '../../config/parse.js';
import type { Secrets } from '../../secrets/secrets.js';
import { digest, matchesAnyDigest } from '../../secrets/timing-safe.js';
import type { GitlabProjectIdentity } from './project-of.js';

const PREFIX = 'GITLAB_WEBHOOK_TOKEN_';

/**
 * Checks `X-Gitlab-Token` against the secret of the project the body names (SPEC section 4).
 * The token must match every key that names the project itself (its id and its path, where
 * set), so a body cannot borrow one project's id to write under another's path; only when
 * neither is set does the nearest group above the path decide. Another project's secret never
 * passes, because only this project's keys are consulted.
 *
 * One exception: an event that names only a group's last path segment (a Member Hook of a
 * subgroup, sent to the hooks of the groups above it too) cannot say which group it means, so
 * any configured GitLab secret authenticates it. Such an event can have no effect (it names no
 * project, so it is answered `ignored` or `invalid`); refusing it would make GitLab disable the
 * whole hook after four member changes, pipelines and all.
 */
export function verifyGitlabToken(
  secrets: Secrets,
  project: GitlabProjectIdentity,
  token: string | undefined,
): boolean {
  const given = token === undefined || token === '' ? undefined : digest(token);
  if (project.segmentOnly === true) {
    let ok = false;
    for (const values of secrets.prefixed(PREFIX).values()) {
      if (matchesAnyDigest(given, values.map(digest))) ok = true;
    }
    return ok;
  }
  const own: Array<readonly Buffer[]> = [];
  if (project.id !== undefined) own.push(secrets.digests(PREFIX + project.id));
  if (project.path !== undefined) own.push(secrets.digests(PREFIX + toUpperSnake(project.path)));
  const set = own.filter((values) => values.length > 0);
  if (set.length > 0) {
    let ok = true;
    for (const values of set) if (!matchesAnyDigest(given, values)) ok = false;
    return ok;
  }
  if (project.path === undefined) return false;
  const parts = project.path.split('/');
  for (let n = parts.length - 1; n >= 1; n--) {
    const values = secrets.digests(PREFIX + toUpperSnake(parts.slice(0, n).join('/')));
    if (values.length > 0) return matchesAnyDigest(given, values);
  }
  return false;
}
