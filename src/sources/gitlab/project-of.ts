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

/**
 * `project.id` and `project.path_with_namespace` where the event has a `project` object; older
 * Job Hooks only have `project_id` and the project's URL in `repository.homepage`.
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
    (typeof project.path_with_namespace === 'string' && project.path_with_namespace !== ''
      ? project.path_with_namespace
      : undefined) ??
    pathOfUrl(project.web_url) ??
    pathOfUrl(isObject(body.repository) ? body.repository.homepage : undefined);
  return { id, path };
}
