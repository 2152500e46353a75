#!/usr/bin/env node
import { backfill } from './backfill.js';
import { MAX_LOOKBACK_S, MAX_LOOKBACK_SAYS } from './events/handlers/context.js';
import { systemClock } from './clock.js';
import { parseDuration } from './config/parse.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { describeConfig } from './describe-config.js';
import { createLogger } from './log.js';
import { startService } from './service.js';

/** Stop must finish within Kubernetes' default 30 s grace period; we promise 10 s. */
const STOP_DEADLINE_MS = 9_500;

async function runBackfill(config: Config, args: string[]): Promise<number> {
  const at = args.indexOf('--since');
  const since =
    at >= 0
      ? parseDuration(args[at + 1] ?? '', { seconds: MAX_LOOKBACK_S, says: MAX_LOOKBACK_SAYS })
      : undefined;
  if (since === undefined || !since.ok) {
    process.stderr.write(
      `Usage: delivery-metrics backfill --since <duration> (for example 6h, 7d)${since && !since.ok ? `: ${since.message}` : ''}\n`,
    );
    return 2;
  }
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  try {
    const { errors } = await backfill(config, {
      log,
      clock: systemClock,
      sinceSeconds: since.value,
      out: process.stderr,
    });
    process.stderr.write(
      errors === 0
        ? 'Backfill done.\n'
        : `Backfill done with ${errors} errors (see the log above); run it again to retry what failed.\n`,
    );
    return errors === 0 ? 0 : 1;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'start';
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  if (command === 'check-config') {
    process.stdout.write(`${describeConfig(config)}\n`);
    return 0;
  }
  if (command === 'backfill') return runBackfill(config, argv.slice(1));
  if (command !== 'start') {
    process.stderr.write(
      `Unknown command '${command}'. Commands: start (default), check-config, backfill --since <duration>.\n`,
    );
    return 2;
  }

  const log = createLogger(config.logLevel);
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config, { log, clock: systemClock });
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'stopping');
      const deadline = setTimeout(() => {
        log.error('stop took too long; exiting anyway');
        process.exit(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      service.stop().then(resolve, (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`delivery-metrics failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
