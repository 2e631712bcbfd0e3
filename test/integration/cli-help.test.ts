// `letterbox --help` and `letterbox COMMAND --help` name every option with a line of help; a slip in a
// command or an option is answered with the closest known one and exit code 2.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { COMMANDS, COMMON_OPTIONS } from '../../src/admin/commands.js';
import { CLI } from '../helpers/appliance.js';

// About 40 runs of the command, a second each on a busy machine.
t.setTimeout(180_000);

const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-help-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
const configFile = join(dataDir, 'config.json');
writeFileSync(configFile, JSON.stringify({ dataDir }));

function letterbox(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, '--config', configFile], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

t.test('letterbox --help lists every command and the common options', async (t) => {
  const help = await letterbox(['--help']);
  t.equal(help.code, 0);
  t.equal(help.stderr, '');
  for (const command of COMMANDS) t.match(help.stdout, new RegExp(`^  ${command.name}\\b.* {2}\\S`, 'm'), `${command.name}, with a line of help`);
  for (const option of COMMON_OPTIONS) t.match(help.stdout, new RegExp(`--${option}\\b.* {2}\\S`), `--${option}`);
});

t.test('letterbox COMMAND --help lists each of its options, one line each', async (t) => {
  for (const command of COMMANDS) {
    const help = await letterbox([...command.name.split(' '), '--help']);
    t.equal(help.code, 0, `${command.name} --help`);
    for (const option of [...command.options, ...COMMON_OPTIONS]) {
      t.match(help.stdout, new RegExp(`^ {2}(-\\w, )?--${option}\\b[^\\n]* {2}\\S`, 'm'), `${command.name}: --${option}`);
    }
  }
  const noun = await letterbox(['queue', '--help']);
  t.match(noun.stdout, /letterbox queue list[\s\S]*letterbox queue retry ID[\s\S]*letterbox queue delete ID/, 'a noun alone: every command of it');
});

t.test('a slip names the closest command or option; usage errors exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['stauts'], /unknown command 'stauts'; did you mean 'status'\?\nsee: letterbox --help/],
    [['user', 'ad', 'x@y'], /unknown command 'user ad'; did you mean 'user add'\?\nsee: letterbox user --help/],
    [['queue'], /'queue' needs one of: list, retry, delete, bounce/],
    [['status', '--jsno'], /unknown option '--jsno'; did you mean '--json'\?\nsee: letterbox status --help/],
    [['user', 'list', '--all'], /option --all does not apply to 'user list'/],
    [['relay', 'set', '--hots', 'x'], /unknown option '--hots'; did you mean '--host'\?/],
    [['status', 'now'], /'status' takes no arguments/],
    [['domain', 'add'], /domain add takes one DOMAIN\nsee: letterbox domain add --help/],
  ];
  for (const [args, message] of cases) {
    const run = await letterbox(args);
    t.equal(run.code, 2, `${args.join(' ')}: exit 2`);
    t.match(run.stderr, message, args.join(' '));
    t.equal(run.stdout, '', 'nothing on stdout');
  }
  const none = await letterbox([]);
  t.equal(none.code, 2);
  t.match(none.stderr, /no command given\nusage: letterbox COMMAND/);
});
