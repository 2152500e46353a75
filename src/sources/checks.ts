import { githubCheck } from './github/check.js';
import { gitlabCheck } from './gitlab/check.js';
import type { SourceCheck } from './webhook-check.js';

/** Every source's stateless check, by source name: what a check thread can run. */
export const SOURCE_CHECKS: Readonly<Record<'gitlab' | 'github', SourceCheck>> = {
  gitlab: gitlabCheck,
  github: githubCheck,
};
