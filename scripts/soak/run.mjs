// `npm run soak`: the long runs (test/soak/*.soak.ts, which `npm test` does not include), then a table
// of what they found: the power-cut scenarios of issue 14, each in both modes of the power-cut file
// system (test/helpers/powercut.ts), and the SMTP attack battery of issue 6 round after round (`attack`);
// see docs/RELIABILITY.md for what each one checks.
//
//   npm run soak                      all scenarios, the full number of cuts (15-25 minutes on 2 cores)
//   npm run soak -- --quick           3 cuts per scenario and mode, to see that it works
//   npm run soak -- queue admin       only the named scenarios (acceptance, first-start, store-create, queue, admin, attack)
//   LETTERBOX_SOAK_CUTS=100 npm run soak -- queue        that many cuts per mode (LETTERBOX_SOAK_CUTS_QUEUE=...: one scenario)
//
// Arguments that start with `-` (other than --quick) go to tap, in the `--name=value` form (`--reporter=terse`). The raw TAP goes to a file whose path
// is printed at the end; the exit code is tap's.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TAP = join(ROOT, 'node_modules', '.bin', 'tap');
/** The longest scenarios first, so that the two jobs end close together. */
const SCENARIOS = ['admin', 'acceptance', 'attack', 'queue', 'first-start', 'store-create'];
const QUICK_CUTS = 3;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run soak -- [--quick] [${SCENARIOS.join('|')} ...] [tap options]`);
  process.exit(0);
}
const quick = args.includes('--quick');
const named = args.filter((a) => !a.startsWith('-'));
const unknown = named.filter((a) => !SCENARIOS.includes(a));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const files = (named.length > 0 ? named : SCENARIOS).map((s) => join('test', 'soak', `${s}.soak.ts`));
const tapOptions = args.filter((a) => a.startsWith('-') && a !== '--quick');

const out = mkdtempSync(join(os.tmpdir(), 'letterbox-soak-'));
const results = join(out, 'figures.jsonl');
const env = { ...process.env, LETTERBOX_SOAK_RESULTS: results };
// The power-cut file system is required here: a soak that skipped for lack of it would prove nothing.
env.LETTERBOX_REQUIRE_PEERS ??= '1';
if (quick) env.LETTERBOX_SOAK_CUTS = String(QUICK_CUTS);

const began = Date.now();
// Two files at a time (the machine this was tuned on has 2 cores); no per-file timeout beyond an hour.
const tap = spawn(TAP, ['--jobs=2', '--timeout=3600', '--disable-coverage', '--allow-incomplete-coverage', `--output-file=${join(out, 'soak.tap')}`, ...tapOptions, ...files], { cwd: ROOT, env, stdio: 'inherit' });
const code = await new Promise((resolve) => tap.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))));
const minutes = ((Date.now() - began) / 60_000).toFixed(1);

function quietly(command, commandArgs) {
  try {
    return execFileSync(command, commandArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** One row per scenario and mode; a figure a scenario does not measure is `-`. */
function table(rows) {
  const columns = ['scenario', 'mode', 'cuts', 'acknowledged', 'changes', 'lost', 'damaged', 'duplicates', 'droppedBytes', 'droppedNames', 'seconds', 'other'];
  const shown = new Set([...columns, 'recipients']);
  const cell = (row, column) => {
    if (column === 'acknowledged' && row.recipients !== undefined) return `${row.acknowledged} (${row.recipients} rcpts)`;
    if (column === 'other') return Object.entries(row).filter(([k]) => !shown.has(k)).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') || '-';
    const value = row[column];
    return value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  };
  return [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${columns.map((c) => cell(row, c)).join(' | ')} |`)].join('\n');
}

const rows = existsSync(results)
  ? readFileSync(results, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
console.log(`\n## Soak figures (${new Date().toISOString()}, ${minutes} min, ${quietly('git', ['-C', ROOT, 'describe', '--always', '--dirty'])})`);
console.log(`nproc ${quietly('nproc', [])}, ${os.type()} ${os.release()}, node ${process.version}\n`);
console.log(rows.length > 0 ? table(rows) : '(no figures: every scenario failed or was skipped)');
console.log(`\nEvery scenario's own figures (JSON lines): ${results}\nRaw TAP: ${join(out, 'soak.tap')}`);
process.exit(code);
