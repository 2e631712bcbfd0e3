// The data directory as another local account sees it (issue 6, 1): whoever creates it (the CLI or
// serve), it is 0700 with nothing readable by group or others; an existing tree with looser bits is
// tightened; a directory owned by another account, or one on a kernel file system, is refused at once
// with exit code 2 and a message naming `dataDir`.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { CLI } from '../helpers/appliance.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A data directory path (not created) and a config file for it; both removed with `t`. */
function layout(t: Test, dataDir?: string): { dataDir: string; configFile: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-perms-'));
  fs.chmodSync(root, 0o755);
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = dataDir ?? path.join(root, 'data');
  const configFile = path.join(root, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ dataDir: dir, hostname: 'mx.letterbox.test' }));
  return { dataDir: dir, configFile };
}

function cli(configFile: string, args: string[], timeout = 20_000): Promise<Run> {
  const env = { ...process.env };
  delete env.LETTERBOX_DATA_DIR;
  delete env.LETTERBOX_CONFIG;
  return new Promise((resolve) => {
    // Under a umask that lets everyone read, as an administrator's shell may have.
    execFile('sh', ['-c', 'umask 022; exec "$@"', 'sh', process.execPath, CLI, ...args, '--config', configFile], { env, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Every path below `dir` (itself included) whose mode lets group or others in. */
function loose(dir: string): string[] {
  const found: string[] = [];
  const visit = (p: string) => {
    const info = fs.lstatSync(p);
    if (info.isSymbolicLink()) return;
    if ((info.mode & 0o077) !== 0) found.push(`${p} ${(info.mode & 0o777).toString(8)}`);
    if (info.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(dir);
  return found;
}

const root = process.getuid?.() === 0;

t.test('a data directory the CLI creates is its owner\'s alone; another account reads nothing', async (t) => {
  const { dataDir, configFile } = layout(t);
  const added = await cli(configFile, ['domain', 'add', 'example.com']);
  t.equal(added.code, 0, added.stderr);
  t.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
  t.same(loose(dataDir), [], 'no file or directory open to group or others');
  if (!root) return void t.comment('reading as another account needs root (runuser): not checked');
  const current = path.join(dataDir, 'store', 'CURRENT');
  t.throws(() => execFileSync('runuser', ['-u', 'nobody', '--', 'cat', current], { stdio: 'pipe' }), 'nobody cannot read the store');
  t.throws(() => execFileSync('runuser', ['-u', 'nobody', '--', 'ls', dataDir], { stdio: 'pipe' }), 'nor list the data directory');
});

t.test('an existing tree with loose permissions is tightened by the next command', async (t) => {
  const { dataDir, configFile } = layout(t);
  t.equal((await cli(configFile, ['domain', 'add', 'example.com'])).code, 0);
  const loosen = (p: string) => {
    fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
    if (fs.statSync(p).isDirectory()) for (const name of fs.readdirSync(p)) loosen(path.join(p, name));
  };
  loosen(dataDir);
  t.not(loose(dataDir).length, 0);
  t.equal((await cli(configFile, ['domain', 'list'])).code, 0);
  t.same(loose(dataDir), []);
});

t.test('a data directory that belongs to another account is refused with exit 2', { skip: !root && 'needs root to chown' }, async (t) => {
  const { dataDir, configFile } = layout(t);
  fs.mkdirSync(dataDir, { mode: 0o700 });
  execFileSync('chown', ['nobody', dataDir]);
  const run = await cli(configFile, ['domain', 'list']);
  t.equal(run.code, 2);
  t.match(run.stderr, /configuration: dataDir: .* belongs to uid \d+, not to this account \(uid 0\); run letterbox as its owner/);
  t.same(fs.readdirSync(dataDir), [], 'nothing was created in it');
});

t.test('a data directory under /proc fails at once with exit 2', async (t) => {
  const { configFile } = layout(t, '/proc/letterbox-data');
  const started = Date.now();
  const run = await cli(configFile, ['domain', 'list'], 10_000);
  t.equal(run.code, 2, run.stderr);
  t.match(run.stderr, /configuration: dataDir: \/proc\/letterbox-data is on a kernel file system/);
  t.ok(Date.now() - started < 10_000, 'no spinning');
});
