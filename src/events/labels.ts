import type { ProjectRef, RefInfo } from './model.js';

/**
 * SPEC section 5 `ref`: the name if it matches TRACKED_REFS or is the default branch;
 * otherwise `merge_request`, `tag` or `branch`, so the label stays bounded.
 */
export function refLabel(ref: RefInfo, project: ProjectRef, tracked: RegExp): string {
  if (tracked.test(ref.name) || (project.defaultBranch !== undefined && ref.name === project.defaultBranch)) {
    return ref.name;
  }
  if (ref.mergeRequest) return 'merge_request';
  return ref.tag ? 'tag' : 'branch';
}

/** `review/feature-x` becomes its folder `review/*`; static names stay as they are. */
export function environmentLabel(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? name : `${name.slice(0, slash)}/*`;
}

/** `rspec 3/8` is one of eight parallel `rspec` jobs. */
export function jobLabel(name: string): string {
  return name.replace(/ \d+\/\d+$/, '');
}
