/** How a GitLab payload names its project, whatever the event: what authentication keys on. */
export interface GitlabProjectIdentity {
  readonly id: string | undefined;
  readonly path: string | undefined;
  /**
   * The path is only a group's last segment (a Member Hook's `group_path`): which group, and so
   * which secret, it means cannot be told (see verify.ts).
   */
  readonly segmentOnly?: true;
  /**
   * The path is a group's full path (a Subgroup Hook's `full_path`, a group access token's
   * `group.full_path`, a group-level work item's URL): authenticated like a project's path, but
   * it is no project.
   */
  readonly groupOnly?: true;
}

const NONE: GitlabProjectIdentity = { id: undefined, path: undefined };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idOf(v: unknown): string | undefined {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v)) ? String(v) : undefined;
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

/**
 * A project's path from an old Job Hook's `repository`: its SSH URL first (`git@host:acme/app.git`
 * or `ssh://git@host:2222/acme/app.git`), which never carries the relative URL root that
 * `homepage` has on an instance served under one (`https://host/gitlab/acme/app`).
 */
function pathOfRepository(repository: unknown): string | undefined {
  if (!isObject(repository)) return undefined;
  const ssh = repository.git_ssh_url;
  if (typeof ssh === 'string') {
    if (ssh.startsWith('ssh://')) {
      const path = pathOfUrl(ssh);
      if (path !== undefined) return path;
    }
    const scp = /^[^@\s/]+@[^:\s/]+:\/*(.+?)(?:\.git)?\/*$/.exec(ssh);
    if (scp !== null) return scp[1];
  }
  return pathOfUrl(repository.homepage);
}

/**
 * The project or group of an item's web URL (`https://host/acme/app/-/security/vulnerabilities/1`,
 * `https://host/groups/acme/-/epics/3`): the part before `/-/`.
 */
function pathOfItemUrl(url: unknown): string | undefined {
  const path = pathOfUrl(url);
  if (path === undefined) return undefined;
  const dash = path.indexOf('/-/');
  if (dash <= 0) return undefined;
  const owner = path.slice(0, dash);
  return owner.startsWith('groups/') ? owner.slice('groups/'.length) || undefined : owner;
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `project.id` and `project.path_with_namespace` where the event has a `project` object; older
 * Job Hooks only have `project_id` and the project's URLs in `repository`.
 *
 * A group webhook also sends events that name no project object, only a group (GitLab's
 * `hook_data` builders): a Project Hook has `project_id` and `path_with_namespace` at the top,
 * a Subgroup Hook `full_path`, an access token event `group.full_path` (older: only
 * `group.group_path`), a Member Hook `group_path`. Their path is what the secret is looked up
 * by, as for a project: without it, a group hook with the right secret would get 401 for every
 * member added, and GitLab disables a hook after four failures in a row, pipelines and all. The
 * last two give the group's own path segment only (`segmentOnly`). A Vulnerability Hook, and
 * a group-level work item (`project: null`), name theirs only in `object_attributes`
 * (`project_id`, and the item's `url`).
 */
export function gitlabProjectOf(body: unknown): GitlabProjectIdentity {
  if (!isObject(body)) return NONE;
  const project = isObject(body.project) ? body.project : {};
  const id = idOf(project.id ?? body.project_id);
  const path =
    nonEmpty(project.path_with_namespace) ??
    pathOfUrl(project.web_url) ??
    pathOfRepository(body.repository) ??
    (isObject(body.project) ? undefined : nonEmpty(body.path_with_namespace));
  if (id !== undefined || path !== undefined || isObject(body.project)) return { id, path };
  const attrs = isObject(body.object_attributes) ? body.object_attributes : {};
  const itemId = idOf(attrs.project_id);
  const itemPath = pathOfItemUrl(attrs.url);
  if (itemId !== undefined || itemPath !== undefined) {
    // `groups/` is a reserved top-level path: such an item belongs to a group, no project.
    const ofGroup = itemId === undefined && pathOfUrl(attrs.url)?.startsWith('groups/') === true;
    return ofGroup ? { id: undefined, path: itemPath, groupOnly: true } : { id: itemId, path: itemPath };
  }
  const group = isObject(body.group) ? body.group : {};
  const full = nonEmpty(body.full_path) ?? nonEmpty(group.full_path);
  if (full !== undefined) return { id: undefined, path: full, groupOnly: true };
  const segment = nonEmpty(group.group_path) ?? nonEmpty(body.group_path);
  return segment === undefined ? NONE : { id: undefined, path: segment, segmentOnly: true };
}
