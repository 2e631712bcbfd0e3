// What the soak scenarios share (`npm run soak`, scripts/soak/run.mjs): how many cuts each one makes,
// and where its figures go. Not a test file itself (those end in .soak.ts).
import { appendFileSync } from 'node:fs';
import type { Test } from 'tap';

/**
 * Cuts per scenario and mode: LETTERBOX_SOAK_CUTS_<SCENARIO> (e.g. LETTERBOX_SOAK_CUTS_QUEUE), else
 * LETTERBOX_SOAK_CUTS, else `fallback`, which is what a full `npm run soak` runs.
 */
export function soakCuts(scenario: string, fallback: number): number {
  const value = process.env[`LETTERBOX_SOAK_CUTS_${scenario.toUpperCase().replace(/-/g, '_')}`] ?? process.env.LETTERBOX_SOAK_CUTS;
  const cuts = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(cuts) || cuts < 1) throw new Error(`bad number of cuts for ${scenario}: ${value}`);
  return cuts;
}

/**
 * The figures of one scenario and mode: a comment in the TAP output, and a JSON line appended to
 * $LETTERBOX_SOAK_RESULTS when set, from which run.mjs prints its table.
 */
export function recordFigures(t: Test, scenario: string, mode: string, figures: object, seconds: number): void {
  const line = JSON.stringify({ scenario, mode, seconds: Math.round(seconds), ...figures });
  t.comment(line);
  if (process.env.LETTERBOX_SOAK_RESULTS) appendFileSync(process.env.LETTERBOX_SOAK_RESULTS, `${line}\n`);
}

/**
 * Runs one scenario and records its figures; when it throws (the appliance did not come up after a
 * cut, say), records a row with the error instead, so the table shows the failed scenario, then
 * rethrows for tap to report.
 */
export async function soak<F extends object>(t: Test, scenario: string, mode: string, run: () => Promise<F | null>): Promise<F | null> {
  const began = Date.now();
  const seconds = () => (Date.now() - began) / 1000;
  try {
    const figures = await run();
    if (figures) recordFigures(t, scenario, mode, figures, seconds());
    return figures;
  } catch (err) {
    recordFigures(t, scenario, mode, { failed: String((err as Error).message ?? err).split('\n')[0]?.slice(0, 300) }, seconds());
    throw err;
  }
}
