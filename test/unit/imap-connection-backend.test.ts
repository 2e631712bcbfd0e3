// Several sessions on one folder with the real backend (src/mailbox) on the memory FolderStore: what
// each is told and when (RFC 3501 5.2, 7.4.1; RFC 7162 CONDSTORE MODSEQ and QRESYNC VANISHED), IDLE
// pushing another session's APPEND, and a folder deleted under a session.
import t, { type Test } from 'tap';
import { memoryImapBackend } from '../helpers/memory-folder-store.js';
import { RawImap } from '../helpers/imap-raw.js';
import { startImapServer } from '../helpers/imap-test-server.js';

const USER = 'carol@example.test';
const PASSWORD = 'carol-pw';
const message = (subject: string) => `From: x@example.test\r\nSubject: ${subject}\r\n\r\nBody\r\n`;

async function setUp(t: Test) {
  const { backend } = memoryImapBackend({ users: { [USER]: PASSWORD } });
  t.teardown(() => backend.stop());
  const { ports } = await startImapServer(t, { backend });
  const session = async (enable?: string) => {
    const client = await RawImap.connect(ports.imap);
    t.teardown(() => client.close());
    await client.until(/^\* OK/);
    await client.command('l', `LOGIN ${USER} ${PASSWORD}`);
    if (enable) await client.command('e', `ENABLE ${enable}`);
    return client;
  };
  return { session };
}

const untagged = (lines: string[]) => lines.filter((line) => line.startsWith('*'));

async function append(client: RawImap, folder: string, subject: string): Promise<string[]> {
  const body = message(subject);
  client.send(`ap APPEND ${folder} {${body.length}+}\r\n${body}\r\n`);
  return client.until(/^ap /);
}

t.test('flags, new messages and expunges reach the other session at its next command', async (t) => {
  const { session } = await setUp(t);
  const one = await session();
  const two = await session();
  await one.command('s', 'SELECT INBOX');
  await two.command('s', 'SELECT INBOX');
  t.match((await append(two, 'INBOX', 'first')).at(-1), /^ap OK \[APPENDUID \d+ 1\]/);
  await append(two, 'INBOX', 'second');
  const seen = untagged(await one.command('n1', 'NOOP'));
  t.strictSame(seen.filter((l) => /EXISTS/.test(l)).at(-1), '* 2 EXISTS');
  untagged(await two.command('n2', 'NOOP'));

  t.match(untagged(await two.command('f', 'STORE 1 +FLAGS (\\Flagged)')), [/^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\)\)$/], 'STORE answers with the new flags');
  const told = untagged(await one.command('n3', 'NOOP'));
  t.equal(told.length, 1);
  t.match(told[0], /^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\)\)$/);

  await two.command('d', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  t.strictSame(untagged(await two.command('x', 'EXPUNGE')), ['* 1 EXPUNGE']);
  const fetch = await one.command('f2', 'FETCH 2 (UID)');
  t.ok(fetch.includes('* 2 FETCH (UID 2)'), 'still numbered as before during FETCH');
  t.notOk(fetch.some((l) => /^\* \d+ EXPUNGE$/.test(l)));
  const noop = untagged(await one.command('n4', 'NOOP'));
  t.ok(noop.includes('* 1 EXPUNGE'), JSON.stringify(noop));
  t.ok((await one.command('f3', 'FETCH 1 (UID)')).includes('* 1 FETCH (UID 2)'), 'renumbered once told');
});

t.test('CONDSTORE: MODSEQ with every flag change; QRESYNC: VANISHED', async (t) => {
  const { session } = await setUp(t);
  const watcher = await session('QRESYNC');
  const writer = await session();
  await append(writer, 'INBOX', 'a');
  await append(writer, 'INBOX', 'b');
  await watcher.command('s', 'SELECT INBOX');
  await writer.command('s', 'SELECT INBOX');
  await writer.command('f', 'STORE 2 +FLAGS.SILENT (\\Seen)');
  const flags = untagged(await watcher.command('n', 'NOOP'));
  t.match(flags, [/^\* 2 FETCH \(FLAGS \(\\Seen( \\Recent)?\) UID 2 MODSEQ \(\d+\)\)$/]);
  await writer.command('d', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await writer.command('x', 'EXPUNGE');
  t.strictSame(untagged(await watcher.command('n2', 'NOOP')).filter((l) => !/FETCH/.test(l)), ['* VANISHED 1']);
});

t.test('IDLE: another session appends, the idler hears it at once', async (t) => {
  const { session } = await setUp(t);
  const idler = await session();
  const other = await session();
  await idler.command('s', 'SELECT INBOX');
  idler.send('i IDLE\r\n');
  await idler.until(/^\+ idling/);
  await append(other, 'INBOX', 'hello');
  // Heard while idling, with no command from the idler: how soon is the benchmark's business.
  t.strictSame(await idler.until(/EXISTS/, 30_000), ['* 1 EXISTS']);
  idler.send('DONE\r\n');
  t.match(await idler.until(/^i /), [/RECENT|^i OK/]);
});

t.test('the selected folder deleted by another session', async (t) => {
  const { session } = await setUp(t);
  const one = await session();
  const two = await session();
  await one.command('c', 'CREATE Projects');
  await one.command('s', 'SELECT Projects');
  t.match((await two.command('d', 'DELETE Projects')).at(-1), /^d OK/);
  one.send('n NOOP\r\n');
  t.strictSame(await one.until(/^\* BYE/), ['* BYE Selected mailbox was deleted, have to disconnect']);
  await one.closedByServer();
});
