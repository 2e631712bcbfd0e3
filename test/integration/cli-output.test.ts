// What every `letterbox` command prints for people, on a store like an office's (two domains, mailboxes
// with mail, aliases and a catch-all, a smarthost, messages waiting for an MX that is down), compared
// with the snapshots in test/fixtures/cli/ (refreshed by `npm run fixtures:cli`, never by hand); and
// each listing's `--json` against its schema in test/fixtures/cli/schemas/.
import t from 'tap';
import type { Test } from 'tap';
import { ALICE, BOB } from '../helpers/addresses.js';
import type { RunningAppliance } from '../helpers/appliance.js';
import { matchFixture, matchSchema, normalise } from '../helpers/cli-fixtures.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { compose } from '../helpers/messages.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { startQueueAppliance, submit, waitForQueue, type QueueEntryJson } from '../helpers/queue.js';

t.setTimeout(180_000);

const DEAD_MX = '127.0.0.2';
const CAROL = 'carol@example.org';
const LISTINGS: [string, string[]][] = [
  ['status', ['status']],
  ['domain-list', ['domain', 'list']],
  ['user-list', ['user', 'list']],
  ['alias-list', ['alias', 'list']],
  ['queue-list', ['queue', 'list']],
  ['relay-show', ['relay', 'show']],
];

/** Runs a command; checks its exit code and its output against the fixture NAME. */
async function snapshot(t: Test, app: RunningAppliance, name: string, args: string[], known: Record<string, string>, options: { stdin?: string; code?: number } = {}) {
  const result = await app.cli(args, options.stdin);
  t.equal(result.code, options.code ?? 0, `letterbox ${args.join(' ')}: exit code`, { stderr: result.stderr });
  matchFixture(t, name, normalise(result.stdout, known));
  return result;
}

/** An office's store: the mail of two domains, one local message read by nobody yet, three deferred recipients. */
async function office(t: Test): Promise<{ app: RunningAppliance; entries: QueueEntryJson[]; known: Record<string, string> } | null> {
  const mxPort = await portFreeOnAll([DEAD_MX]);
  const dns = await startDnsmasq(t, { mx: [{ domain: 'remote.test', host: 'mx.remote.test', preference: 10 }], hosts: [{ name: 'mx.remote.test', addresses: [DEAD_MX] }] });
  if (!dns) return null;
  const app = await startQueueAppliance(t, { dnsServer: dns.server, mxPort, queue: { retryFirstSeconds: 3600, retryMaxSeconds: 3600 }, users: [ALICE, BOB] });
  await submit(app, [
    { to: [BOB], raw: compose({ to: [BOB], subject: 'the minutes' }) },
    { to: ['dave@remote.test'], raw: compose({ to: ['dave@remote.test'], subject: 'an offer' }) },
    { to: ['erin@remote.test', 'frank@remote.test'], raw: compose({ to: ['erin@remote.test', 'frank@remote.test'], subject: 'the invoice' }) },
  ]);
  const entries = await waitForQueue(app, 'three deferred recipients', (list) => list.length === 2 && list.every((e) => e.recipients.every((r) => r.state === 'deferred')));
  const known = Object.fromEntries([...entries.map((e, i) => [e.id, `<queue-id-${i + 1}>`]), [app.dataDir, '<data-dir>']]);
  return { app, entries, known };
}

t.test('every command, human output and --json, on an office\'s store', async (t) => {
  const world = await office(t);
  if (!world) return;
  const { app, entries, known } = world;
  const run = (name: string, args: string[], options?: { stdin?: string; code?: number }) => snapshot(t, app, name, args, known, options);

  await run('domain-add', ['domain', 'add', 'example.org']);
  await run('user-add', ['user', 'add', 'Carol@example.org', '--password-stdin'], { stdin: 'a long passphrase\n' });
  await run('user-passwd', ['user', 'passwd', CAROL, '--password-stdin'], { stdin: 'another long passphrase\n' });
  await run('alias-add', ['alias', 'add', 'sales@letterbox.test', ALICE, BOB]);
  await run('alias-add-catch-all', ['alias', 'add', '@example.org', CAROL]);
  // Set once the recipients are deferred, so their attempts went to the MX alone.
  await run('relay-set', ['relay', 'set', '--host', 'smarthost.test', '--port', '587', '--user', 'office', '--password-stdin'], { stdin: 'relay secret\n' });

  for (const [name, args] of LISTINGS) {
    const listed = await run(name, args);
    t.notOk(listed.stdout.includes('\x1b['), `${name}: no colour into a pipe`);
    matchSchema(t, name, (await app.cli([...args, '--json'])).stdout);
  }
  // smarthost.test is in no zone: the test message cannot leave, which the command says, with exit 1.
  await run('relay-test', ['relay', 'test', 'erin@elsewhere.test'], { code: 1 });

  const [offer, invoice] = entries as [QueueEntryJson, QueueEntryJson];
  await run('queue-bounce', ['queue', 'bounce', invoice.id]);
  await run('status-after-bounce', ['status']);
  await run('queue-retry', ['queue', 'retry', offer.id]);
  await run('queue-retry-all', ['queue', 'retry', '--all']);
  await run('queue-delete', ['queue', 'delete', offer.id]);
  await run('queue-list-empty', ['queue', 'list']);
  await run('alias-del', ['alias', 'del', 'sales@letterbox.test']);
  await run('user-del', ['user', 'del', CAROL]);
  await run('domain-del', ['domain', 'del', 'example.org']);
  await run('check', ['check']);

  t.equal(await app.stop(), 0);
  await run('status-not-running', ['status']);
  matchSchema(t, 'status', (await app.cli(['status', '--json'])).stdout);
  await run('user-list-not-running', ['user', 'list']);
});
