/** How a GitLab payload names its project, whatever the event: what authentication keys on. */
export interface GitlabProjectIdentity {
  readonly id: string | undefined;
  readonly path: string | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pathOfUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const path = new URL(url).pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
    return path === '' ? undefined : path;
  } catch {
    return undefined;
  }
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `project.id` and `project.path_with_namespace` where the event has a `project` object; older
 * Job Hooks only have `project_id` and the project's URL in `repository.homepage`.
 *
 * A group webhook also sends events that name no project, only a group (GitLab's
 * `hook_data` builders): a Project Hook has `project_id` and `path_with_namespace` at the top,
 * a Subgroup Hook `full_path`, an access token event `group.full_path` (older: only
 * `group.group_path`), a Member Hook `group_path`. Their path is what the secret is looked up
 * by, as for a project: without it, a group hook with the right secret would get 401 for every
 * member added, and GitLab disables a hook after four failures in a row, pipelines and all. The
 * last two give the group's own path segment only, which is the whole path for a top-level
 * group; a subgroup's such events are checked against the key of that segment alone.
 */
export function gitlabProjectOf(body: unknown): GitlabProjectIdentity {
  if (!isObject(body)) return { id: undefined, path: undefined };
  const project = isObject(body.project) ? body.project : {};
  const rawId = project.id ?? body.project_id;
  const id =
    typeof rawId === 'number' || (typeof rawId === 'string' && /^\d+$/.test(rawId))
      ? String(rawId)
      : undefined;
  const path =
    nonEmpty(project.path_with_namespace) ??
    pathOfUrl(project.web_url) ??
    pathOfUrl(isObject(body.repository) ? body.repository.homepage : undefined) ??
    (isObject(body.project) ? undefined : nonEmpty(body.path_with_namespace));
  if (id !== undefined || path !== undefined || isObject(body.project)) return { id, path };
  const group = isObject(body.group) ? body.group : {};
  return {
    id,
    path:
      nonEmpty(body.full_path) ??
      nonEmpty(group.full_path) ??
      nonEmpty(group.group_path) ??
      nonEmpty(body.group_path),
  };
}
