// `npm run bench`: builds (via npm), runs every benchmark against dist/ and writes docs/PERFORMANCE.md
// with the machine it ran on. `node scripts/bench/run.mjs smtp` runs only the named ones, and then
// prints the result without rewriting the file (a partial table would replace the full one).
//
// A benchmark is a module exporting `run({ log })` that resolves with `{ title, markdown }`. The IMAP
// and POP3 ones from DESIGN.md ("Numbers this product is held to") go in BENCHMARKS when they exist.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = [
  { name: 'smtp', module: './smtp-accept.mjs' },
  { name: 'memory', module: './memory.mjs' },
  { name: 'imap', module: './imap-fetch.mjs' },
];
const OUTPUT = fileURLToPath(new URL('../../docs/PERFORMANCE.md', import.meta.url));

function quietly(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function machine() {
  const cpus = os.cpus();
  return [
    '| | |',
    '|---|---|',
    `| date | ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} |`,
    `| Letterbox | ${quietly('git', ['-C', fileURLToPath(new URL('../..', import.meta.url)), 'describe', '--always', '--dirty'])} |`,
    `| CPU | ${quietly('nproc', [])} × ${cpus[0]?.model ?? 'unknown'} |`,
    `| memory | ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB |`,
    `| OS | ${os.type()} ${os.release()} (${os.arch()}) |`,
    `| node | ${process.version} |`,
    `| file system of ${os.tmpdir()} (both servers' data) | ${quietly('df', ['--output=fstype,source', os.tmpdir()]).split('\n').pop()} |`,
  ].join('\n');
}

const wanted = process.argv.slice(2);
const chosen = wanted.length > 0 ? BENCHMARKS.filter((b) => wanted.includes(b.name)) : BENCHMARKS;
if (chosen.length === 0) {
  console.error(`unknown benchmark: ${wanted.join(' ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}

const started = performance.now();
const sections = [];
for (const benchmark of chosen) {
  const { run } = await import(benchmark.module);
  const { title, markdown } = await run({ log: (line) => console.log(line) });
  sections.push(`## ${title}\n\n${markdown}\n`);
}

const document = [
  '# Letterbox: performance',
  '',
  'Written by `npm run bench` (scripts/bench/run.mjs); run it again rather than editing the numbers.',
  'What is measured and why is in DESIGN.md, "Numbers this product is held to".',
  '',
  machine(),
  '',
  ...sections,
].join('\n');

if (chosen.length === BENCHMARKS.length) {
  writeFileSync(OUTPUT, document);
  console.log(`\nwrote ${OUTPUT} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} else {
  console.log(`\n${document}`);
}
