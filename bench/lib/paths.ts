import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ is two levels below it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** bench/ itself. */
export const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url));

/** Where each bench writes its latest JSON results. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
