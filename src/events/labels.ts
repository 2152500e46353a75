import type { ProjectRef, RefInfo } from './model.js';

/**
 * SPEC section 5 `ref`: `merge_request` for MR/PR pipelines; else the name if it matches
 * TRACKED_REFS or is the default branch; otherwise `tag` or `branch`, so the label stays
 * bounded. A merge request comes first: a GitHub pull request from a fork's `main` (or a GitLab
 * MR whose source branch is `main`) names `main` as its branch, and counting it there would
 * turn the main branch's health red for one contributor's failing change.
 */
export function refLabel(ref: RefInfo, project: ProjectRef, tracked: RegExp): string {
  if (ref.mergeRequest) return 'merge_request';
  if (tracked.test(ref.name) || (project.defaultBranch !== undefined && ref.name === project.defaultBranch)) {
    return ref.name;
  }
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
