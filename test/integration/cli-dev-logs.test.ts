// `letterbox serve --dev` speaks to the person at the terminal: readable log lines there, the same JSON
// lines as ever when its output goes to a pipe, and `--log-format` to choose either way.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { CLI } from '../helpers/appliance.js';
import { runOnTerminal } from '../helpers/pty.js';

/** A data directory and a config with every listener off: the test needs the log, not the ports. */
function quietConfig(t: Test): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-devlog-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const ports = { smtp: 0, submission: 0, smtps: 0, imap: 0, imaps: 0, pop3: 0, pop3s: 0, http: 0, https: 0 };
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify({ dataDir, listen: ['127.0.0.1'], ports }));
  return file;
}

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const copy: NodeJS.ProcessEnv = { ...process.env };
  delete copy.NO_COLOR;
  return { ...copy, ...extra };
};

/** `serve` with stdout a pipe, stopped once it is ready. */
function servePiped(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, 'serve', ...args], { env: env(), timeout: 30_000 }, (_err, stdout) => resolve(stdout));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('letterbox ready')) child.kill('SIGTERM');
    });
  });
}

// eslint-disable-next-line no-control-regex -- the terminal's colour sequences
const withoutColour = (text: string): string => text.replace(/\x1b\[\d+m/g, '');

t.test('serve --dev on a terminal prints readable lines, in colour', async (t) => {
  const config = quietConfig(t);
  const run = await runOnTerminal([process.execPath, CLI, 'serve', '--dev', '--config', config], 'letterbox ready', env());
  t.equal(run.code, 0, 'a clean stop on SIGTERM');
  const plain = withoutColour(run.output);
  t.match(plain, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}letterbox ready {2}endpoints=\[\]/m, 'time, level, message');
  t.match(plain, /^\S+ INFO {2}queue queue started {2}entries=0$/m, 'the service after the level');
  t.match(plain, /store checked {2}check=\{"consistent":true,/, 'fields after the message as key=value');
  t.ok(run.output.includes('\x1b[32mINFO'), 'the level in colour');
  t.notMatch(run.output, /^\{"level"/m, 'no JSON line');
});

t.test('NO_COLOR keeps the readable lines plain', async (t) => {
  const config = quietConfig(t);
  const run = await runOnTerminal([process.execPath, CLI, 'serve', '--dev', '--config', config], 'letterbox ready', env({ NO_COLOR: '1' }));
  t.match(run.output, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}letterbox ready/m);
  t.notOk(run.output.includes('\x1b['), 'no escape sequence');
});

t.test('--log-format json on a terminal, and serve --dev into a pipe, print JSON lines', async (t) => {
  const config = quietConfig(t);
  const run = await runOnTerminal([process.execPath, CLI, 'serve', '--dev', '--log-format', 'json', '--config', config], 'letterbox ready', env());
  t.match(JSON.parse(run.output.split('\n').find((l) => l.includes('letterbox ready')) ?? '{}'), { level: 30, msg: 'letterbox ready' });

  const piped = await servePiped(['--dev', '--config', config]);
  const lines = piped.trim().split('\n');
  t.ok(lines.length > 1 && lines.every((l) => typeof (JSON.parse(l) as { msg?: unknown }).msg === 'string'), 'every line is JSON', { piped });

  const forced = await servePiped(['--log-format', 'pretty', '--config', config]);
  t.match(forced, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}letterbox ready/m, '--log-format pretty into a pipe: readable, no colour');
});

t.test('--log-format with another value is a usage error', async (t) => {
  const config = quietConfig(t);
  const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [CLI, 'serve', '--log-format', 'xml', '--config', config], (err, _out, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr })),
  );
  t.equal(result.code, 2);
  t.match(result.stderr, /--log-format must be json or pretty, not 'xml'/);
});
