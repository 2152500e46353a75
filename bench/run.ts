/**
 * `npm run bench [-- <bench name>...] [--rounds=N] [--strict]`: runs the benches one after another,
 * prints each report to stdout (progress goes to stderr) and writes each bench's results to
 * bench/results/. Exit code: 0 when every measurement is trustworthy, 1 when one is not (error
 * answers, crashes) or, with --strict, when a performance target is missed; 2 when a required
 * tool is missing or the arguments are wrong.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { githubWebhookBench } from './github-webhook.bench.js';
import { gitlabWebhookBench } from './gitlab-webhook.bench.js';
import type { Bench } from './lib/bench.js';
import { removeLeftovers } from './lib/cleanup.js';
import { REPO_ROOT, RESULTS_DIR } from './lib/paths.js';
import { stopAllProcesses } from './lib/process.js';
import { MissingToolError } from './lib/tools.js';
import { metricsScrapeBench } from './metrics-scrape.bench.js';
import { pushApiBench } from './push-api.bench.js';
import { scraperCycleBench } from './scraper-cycle.bench.js';

/** Every bench, in the order they run. Add new ones here. */
const BENCHES: readonly Bench[] = [
  pushApiBench,
  scraperCycleBench,
  gitlabWebhookBench,
  githubWebhookBench,
  metricsScrapeBench,
];

function progress(bench: string, message: string): void {
  const time = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[${time}] ${bench}: ${message}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const strict = argv.includes('--strict');
  const roundsArg = argv.find((a) => a.startsWith('--rounds='));
  const rounds = roundsArg === undefined ? 1 : Number(roundsArg.slice('--rounds='.length));
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`--rounds must be a whole number of at least 1, not '${roundsArg}'\n`);
    return 2;
  }
  const flags = argv.filter((a) => a.startsWith('--') && a !== '--strict' && a !== roundsArg);
  if (flags.length > 0) {
    process.stderr.write(`Unknown option ${flags.join(', ')}. Options: --rounds=N, --strict\n`);
    return 2;
  }
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown bench ${unknown.join(', ')}. Benches: ${BENCHES.map((b) => b.name).join(', ')}\n`,
    );
    return 2;
  }
  const selected = names.length === 0 ? BENCHES : BENCHES.filter((b) => names.includes(b.name));

  let exitCode = 0;
  for (const bench of selected) {
    progress(bench.name, bench.description);
    const outcome = await bench.run({ progress: (message) => progress(bench.name, message), rounds });
    process.stdout.write(`\n== ${bench.name}: ${bench.description}\n\n${outcome.report}\n`);
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, bench.resultFile);
    await writeFile(file, `${JSON.stringify(outcome.results, null, 2)}\n`);
    process.stdout.write(`\nResults: ${relative(REPO_ROOT, file)}\n`);
    if (outcome.problems.length > 0) {
      exitCode = 1;
      process.stdout.write(`\nPROBLEMS (these numbers are not trustworthy):\n`);
      for (const p of outcome.problems) process.stdout.write(`  - ${p}\n`);
    }
    if (outcome.warnings.length > 0) {
      process.stdout.write(`\nWarnings:\n`);
      for (const w of outcome.warnings) process.stdout.write(`  - ${w}\n`);
    }
    if (outcome.missed.length > 0) {
      if (strict) exitCode = 1;
      process.stdout.write(`\nTargets missed${strict ? '' : ' (exit code unaffected without --strict)'}:\n`);
      for (const m of outcome.missed) process.stdout.write(`  - ${m}\n`);
    }
  }
  return exitCode;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: tsx relays the signal to this process as well, so it may arrive twice,
  // and a second one without a listener would kill us before the clean-up below is done.
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the processes the bench started...\n`);
    void stopAllProcesses()
      .then(removeLeftovers)
      .finally(() => process.exit(130));
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof MissingToolError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  } else if (!interrupted) {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
} finally {
  if (!interrupted) {
    await stopAllProcesses();
    await removeLeftovers();
  }
}
