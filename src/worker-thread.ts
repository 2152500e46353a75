import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker thread whose module sits next to `from` (an `import.meta.url`) as `name`.
 * Built, that is `name.js`. Under tsx (the tests run the TypeScript sources), it is `name.ts`,
 * and a worker does not inherit tsx's loader: a small bootstrap registers it first.
 */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), { workerData });
  const url = new URL(`./${name}.ts`, from).href;
  const tsx = tsxEsmApi(from);
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * The URL of tsx's ESM API, resolved next to the sources: the bootstrap itself would resolve
 * from the working directory. A module that tsx loaded as CommonJS has no import.meta.resolve,
 * and require.resolve would give the CommonJS build, which cannot register the ESM loader.
 */
function tsxEsmApi(from: string): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const pkgFile = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const entry = pkg.exports['./esm/api']?.import.default;
  if (entry === undefined) throw new Error(`${pkgFile} exports no ./esm/api`);
  return pathToFileURL(join(dirname(pkgFile), entry)).href;
}
