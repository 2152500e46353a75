/** What `bench/run.ts` hands every bench. */
export interface BenchContext {
  /** A progress line (stderr), so stdout keeps only the reports. */
  progress(message: string): void;
  /**
   * How many times to repeat each measurement (`--rounds=N`, default 1). Benches report the
   * median round, so a noisy machine disturbs the verdict less.
   */
  readonly rounds: number;
}

export interface BenchOutcome {
  /** The human report (a table), printed to stdout. */
  readonly report: string;
  /** Written as JSON to `bench/results/<resultFile>`. */
  readonly results: unknown;
  /** Why the numbers cannot be trusted (error answers, crashes...): `npm run bench` exits 1. */
  readonly problems: readonly string[];
  /** Performance targets missed: reported; fail the run only with `--strict`. */
  readonly missed: readonly string[];
  /** Things that make the numbers less reliable without invalidating them (e.g. other load). */
  readonly warnings: readonly string[];
}

export interface Bench {
  /** Short name, used to select it: `npm run bench -- push-api`. */
  readonly name: string;
  readonly description: string;
  /** File name under bench/results/ for the latest results. */
  readonly resultFile: string;
  run(context: BenchContext): Promise<BenchOutcome>;
}
