import { writeFileSync } from 'node:fs';

/**
 * Mocha plugin (loaded through `.mocharc.json` `require`) that writes the run's totals as JSON
 * `{ "passed", "failed", "pending" }` to `$MOCHA_SUMMARY_FILE` when that is set; `.ci/run` turns
 * them into its closing `N passed, N failed` line. Mocha runs global teardown with the runner as
 * `this`, so these are mocha's own counts: failed hooks count as failures, and tests skipped by
 * `this.skip()` or `it.skip` as pending.
 */
export function mochaGlobalTeardown(this: Mocha.Runner): void {
  const file = process.env.MOCHA_SUMMARY_FILE;
  if (!file) return;
  const stats = this.stats;
  if (stats === undefined)
    throw new Error('mocha runner has no stats: the summary needs a serial (non-parallel) run');
  writeFileSync(
    file,
    `${JSON.stringify({ passed: stats.passes, failed: stats.failures, pending: stats.pending })}\n`,
  );
}
