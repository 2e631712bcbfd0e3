#!/usr/bin/env node
// Runs the tap suite N times in a row to find tests that fail only now and then (issue 16).
//
//   npm run test:repeat -- N [--load] [--times] [tap arguments and test files ...]
//   node scripts/test-repeat.mjs 5 --load test/integration/queue-commands.test.ts
//
// Each run gets a fresh temporary tree (TMPDIR points at a new directory, so every mkdtemp of the tests
// lands in it), removed after the run. With --load, two CPU-bound child processes (busy loops) run
// beside the suite, as on a machine that is doing something else; they stop when the run ends, and on
// their own if this script dies. Every failing test is reported with its run number, file and subtest
// path, from tap's raw TAP output (`--reporter=tap`); so is anything a run left behind (a process that
// the suite started and that still runs, a file system still mounted in its tree). The last line sums
// up; the exit code is 1 when any run failed. --times lists every file's time in each run, slowest first
// (tap's per-file time-outs are set from these).
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TAP = join(ROOT, 'node_modules', '.bin', 'tap');
const USAGE = 'usage: npm run test:repeat -- N [--load] [--times] [tap arguments and test files ...]';
/** A busy loop's own bound: it stops when its parent is gone, and after this long in any case. */
const LOAD_LIMIT_MS = 60 * 60 * 1000;

function parseArguments(argv) {
  let runs;
  let load = false;
  let times = false;
  const tapArgs = [];
  for (const arg of argv) {
    if (arg === '--load') load = true;
    else if (arg === '--times') times = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (runs === undefined && /^\d+$/.test(arg)) runs = Number(arg);
    else tapArgs.push(arg);
  }
  if (!runs || runs < 1) {
    console.error(USAGE);
    process.exit(2);
  }
  return { runs, load, times, tapArgs };
}

/** Two CPU-bound children; each stops when the returned function is called, when this process dies, or after LOAD_LIMIT_MS. */
function startLoad() {
  const program = `
    const parent = ${process.pid};
    const end = Date.now() + ${LOAD_LIMIT_MS};
    let x = 0;
    for (let i = 0; ; i++) {
      x = (x * 31 + i) % 1000003;
      if (i % 1e6 === 0 && (process.ppid !== parent || Date.now() > end)) process.exit(0);
    }`;
  const children = [0, 1].map(() => spawn(process.execPath, ['-e', program], { stdio: 'ignore' }));
  return async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', resolve);
            child.kill('SIGKILL');
          }),
      ),
    );
  };
}

/**
 * Failures in raw TAP (version 14, subtests indented by 4 spaces): each failing assertion with the
 * subtests around it, and a failing subtest or file that has no failing assertion of its own (a
 * timeout, a crash, a plan that does not add up), with what its YAML block says about why.
 */
function failuresIn(tap) {
  const lines = tap.split('\n');
  const failures = [];
  // Per depth: the subtest opened there ("# Subtest: name") and whether a failure was reported inside it.
  const open = [];
  const counted = [];
  const timings = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = /^ */.exec(line)[0].length;
    const depth = Math.floor(indent / 4);
    const text = line.slice(indent);
    const subtest = /^# Subtest: (.*)$/.exec(text);
    if (subtest && indent % 4 === 0) {
      open[depth] = subtest[1];
      open.length = depth + 1;
      counted[depth] = false;
      continue;
    }
    const point = /^(not ok|ok) \d+(?: - (.*?))?(?: # (.*))?$/.exec(text);
    if (!point || indent % 4 !== 0) continue;
    const [, status, name = '', directive = ''] = point;
    // A subtest's own points are indented one level deeper: a point at its level ends it (under its
    // own name, or another such as "timeout!" when tap ended it).
    const closes = open[depth] !== undefined;
    const path = open.slice(0, depth).filter((n) => n !== undefined);
    const title = closes ? open[depth] : name;
    if (depth === 0 && closes) {
      const time = /time=([\d.]+)ms/.exec(directive);
      if (time) timings.push({ file: title, seconds: Number(time[1]) / 1000 });
    }
    if (status === 'not ok' && !/^(SKIP|TODO)\b/i.test(directive)) {
      if (!closes || !counted[depth]) {
        const why = [closes && name !== title ? name : '', whyFrom(lines, i + 1, indent)].filter(Boolean).join('; ');
        failures.push({ path: [...path, title], why });
      }
      for (let d = 0; d < depth; d++) counted[d] = true;
      if (closes) counted[depth] = true;
    }
    if (closes) {
      open.length = depth;
      counted.length = depth;
    }
  }
  return { failures, timings };
}

/** A few telling fields of the YAML block after a test point, on one line. */
function whyFrom(lines, from, indent) {
  if ((lines[from] ?? '').trim() !== '---') return '';
  const fields = [];
  for (let i = from + 1; i < lines.length && lines[i].trim() !== '...'; i++) {
    const field = /^\s*(message|signal|expired|exitCode|code|found|wanted|compare|pattern|errorOrigin):\s*(.+)$/.exec(lines[i]);
    // Scalars only: a block (`|`, `>`) would need its lines, and null says nothing.
    if (!field || /^\s*/.exec(lines[i])[0].length !== indent + 2 || /^([|>][-+0-9]*|null)$/.test(field[2].trim())) continue;
    fields.push(`${field[1]}: ${field[2].trim()}`.slice(0, 160));
  }
  return fields.slice(0, 4).join('; ');
}

/** Processes still running with this run's TMPDIR in their environment: started by the suite, never ended. */
function leftProcesses(runDir) {
  const found = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.includes(`TMPDIR=${runDir}`)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid: Number(pid), command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** File systems still mounted in this run's tree (the disk-full test mounts a tmpfs there). */
function leftMounts(runDir) {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
      .filter((point) => point && (point === runDir || point.startsWith(`${runDir}/`)));
  } catch {
    return [];
  }
}

/** What a run left behind, reported as failures, then ended (processes by pid) and removed. */
async function cleanUp(runDir) {
  const left = [];
  // A process the suite ended just before tap exited may still be on its way out.
  let processes = leftProcesses(runDir);
  for (let tries = 0; processes.length > 0 && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    processes = leftProcesses(runDir);
  }
  for (const { pid, command } of processes) {
    left.push({ path: ['left behind'], why: `process ${pid} still running: ${command.slice(0, 200)}` });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const point of leftMounts(runDir).reverse()) {
    left.push({ path: ['left behind'], why: `${point} still mounted` });
    try {
      execFileSync('umount', ['-l', point], { stdio: 'pipe' });
    } catch (err) {
      left.push({ path: ['left behind'], why: `umount ${point}: ${err.message.split('\n')[0]}` });
    }
  }
  rmSync(runDir, { recursive: true, force: true });
  return left;
}

function runTap(tapArgs, runDir, output) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, TMPDIR: runDir, TAP_COLORS: '0', FORCE_COLOR: '0' };
    const child = spawn(TAP, ['--reporter=tap', '--no-color', ...tapArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const tap = Buffer.concat(chunks).toString('utf8');
      writeFileSync(output, tap);
      resolve({ code, signal, tap });
    });
  });
}

function seconds(ms) {
  return `${Math.round(ms / 1000)} s`;
}

async function main() {
  const { runs, load, times, tapArgs } = parseArguments(process.argv.slice(2));
  const logDir = mkdtempSync(join(tmpdir(), 'letterbox-repeat-logs-'));
  console.log(`test:repeat: ${runs} run(s) of tap${load ? ' beside two busy loops' : ''}${tapArgs.length ? ` (${tapArgs.join(' ')})` : ''}`);
  const failedRuns = [];
  const durations = [];
  for (let run = 1; run <= runs; run++) {
    const runDir = mkdtempSync(join(tmpdir(), `letterbox-repeat-${run}-`));
    // As /tmp is: the peers some tests start drop to other users (smtp-sink to nobody, Postfix's
    // daemons to postfix) and must reach their directories in here.
    chmodSync(runDir, 0o1777);
    const stopLoad = load ? startLoad() : async () => {};
    const started = Date.now();
    let result;
    try {
      result = await runTap(tapArgs, runDir, join(logDir, `run-${run}.tap`));
    } finally {
      await stopLoad();
    }
    const took = Date.now() - started;
    durations.push(took);
    const { failures, timings } = failuresIn(result.tap);
    failures.push(...(await cleanUp(runDir)));
    if (result.code !== 0 && failures.length === 0) {
      failures.push({ path: ['tap'], why: `exited with ${result.signal ?? result.code} without a failing test in its output` });
    }
    const slowest = timings
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 3)
      .map((f) => `${f.file} ${f.seconds.toFixed(1)} s`)
      .join(', ');
    console.log(`run ${run}/${runs}: ${failures.length === 0 ? 'ok' : `${failures.length} failure(s)`} in ${seconds(took)}${slowest ? `; slowest: ${slowest}` : ''}`);
    if (times) for (const f of timings) console.log(`  run ${run}: ${f.seconds.toFixed(1).padStart(6)} s  ${f.file}`);
    for (const failure of failures) console.log(`  run ${run}: not ok ${failure.path.join(' > ')}${failure.why ? `  [${failure.why}]` : ''}`);
    if (failures.length > 0) failedRuns.push({ run, failures });
  }
  const total = durations.reduce((a, b) => a + b, 0);
  const failedTests = failedRuns.reduce((sum, r) => sum + r.failures.length, 0);
  console.log(
    failedRuns.length === 0
      ? `test:repeat: ${runs} of ${runs} run(s) passed${load ? ' under load' : ''} (${seconds(total)} in all, longest run ${seconds(Math.max(...durations))})`
      : `test:repeat: ${failedRuns.length} of ${runs} run(s) failed${load ? ' under load' : ''} (${failedTests} failure(s): runs ${failedRuns.map((r) => r.run).join(', ')}; ${seconds(total)} in all); raw TAP in ${logDir}`,
  );
  // Logs are kept only when something failed.
  if (failedRuns.length === 0) rmSync(logDir, { recursive: true, force: true });
  process.exitCode = failedRuns.length === 0 ? 0 : 1;
}

await main();
