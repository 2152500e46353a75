import { Worker } from 'node:worker_threads';

/**
 * Starts the worker thread whose module sits next to `from` (an `import.meta.url`) as `name`.
 * Built, that is `name.js`. Under tsx (the tests run the TypeScript sources), it is `name.ts`,
 * and a worker does not inherit tsx's loader: a small bootstrap registers it first.
 */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), { workerData });
  const url = new URL(`./${name}.ts`, from).href;
  // Resolved here, next to the sources: the bootstrap itself would resolve from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
