// The folder commands over real sockets: the IMAP server with the real backend (src/mailbox) on the
// in-memory folder store, driven by imapflow (what a Node mail client does) and, for the exact bytes
// of QRESYNC, LIST-EXTENDED and the quota answers, by a raw client.
import { ImapFlow } from 'imapflow';
import t, { type Test } from 'tap';
import { RawImap } from '../helpers/imap-raw.js';
import { startImapServer } from '../helpers/imap-test-server.js';
import { memoryImapBackend, type MemoryFolderStore } from '../helpers/memory-folder-store.js';

const USER = 'alice@example.com';
const PASSWORD = 'secret';

const message = (subject: string) => `From: bob@example.com\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`;

async function setUp(t: Test, appendLimit = 0): Promise<{ port: number; store: MemoryFolderStore }> {
  const { backend, store } = memoryImapBackend({ users: { [USER]: PASSWORD }, appendLimit });
  t.teardown(() => backend.stop());
  const { ports } = await startImapServer(t, { backend });
  return { port: ports.imap, store };
}

async function flow(t: Test, port: number): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  t.teardown(() => client.logout().catch(() => undefined));
  return client;
}

async function raw(t: Test, port: number): Promise<RawImap> {
  const client = await RawImap.connect(port);
  t.teardown(() => client.close());
  await client.until(/^\* OK/);
  await client.command('L', `LOGIN ${USER} ${PASSWORD}`);
  return client;
}

t.test('imapflow: create, list, subscribe, rename, delete a tree of folders', async (t) => {
  const { port } = await setUp(t);
  const client = await flow(t, port);
  const listed = await client.list();
  t.same(listed.map((f) => [f.path, f.specialUse ?? null]).sort(), [
    ['Archive', '\\Archive'], ['Drafts', '\\Drafts'], ['INBOX', '\\Inbox'], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash'],
  ]);
  t.ok((await client.mailboxCreate(['Projects', 'Alpha'])).created);
  t.ok((await client.mailboxCreate('Zürich/Büro')).created, 'a name beyond ASCII');
  const tree = (await client.list()).map((f) => f.path);
  t.ok(tree.includes('Projects/Alpha') && tree.includes('Zürich/Büro'), JSON.stringify(tree));
  t.ok(await client.mailboxSubscribe('Projects/Alpha'));
  t.ok((await client.list()).find((f) => f.path === 'Projects/Alpha')?.subscribed, 'LSUB or LIST (SUBSCRIBED) shows it');
  t.same(await client.mailboxRename('Projects', 'Work'), { path: 'Projects', newPath: 'Work' });
  const renamed = (await client.list()).map((f) => f.path);
  t.ok(renamed.includes('Work/Alpha') && !renamed.includes('Projects/Alpha'), 'children move with their parent');
  t.ok(await client.mailboxUnsubscribe('Work/Alpha'));
  await client.mailboxDelete('Work/Alpha');
  t.notOk((await client.list()).some((f) => f.path === 'Work/Alpha'));
  await t.rejects(client.mailboxDelete('INBOX'), 'INBOX cannot be deleted');
  await t.rejects(client.mailboxCreate('Sent').then((r) => (r.created ? r : Promise.reject(new Error('exists')))), 'an existing name is not made twice');
});

t.test('imapflow: APPEND with flags and date, STATUS, LIST-STATUS, SELECT and EXAMINE', async (t) => {
  const { port } = await setUp(t);
  const client = await flow(t, port);
  const date = new Date('2020-02-03T04:05:06Z');
  const appended = await client.append('Drafts', message('draft'), ['\\Draft', '\\Seen', '$Work'], date);
  t.ok(appended && appended.uid === 1 && appended.uidValidity, 'APPENDUID');
  await client.append('Drafts', message('second'));
  const status = await client.status('Drafts', { messages: true, unseen: true, uidNext: true, uidValidity: true, highestModseq: true, size: true });
  t.equal(status && status.messages, 2);
  t.equal(status && status.unseen, 1);
  t.equal(status && status.uidNext, 3);
  t.ok(status && status.highestModseq && status.highestModseq > 1n);
  // imapflow asks for SIZE only when STATUS=SIZE (RFC 8438) is advertised; the raw test below asks itself.
  if (client.capabilities.has('STATUS=SIZE')) t.equal(status && status.size, Buffer.byteLength(message('draft')) + Buffer.byteLength(message('second')));
  const withStatus = await client.list({ statusQuery: { messages: true, unseen: true } });
  t.same(withStatus.find((f) => f.path === 'Drafts')?.status, { path: 'Drafts', messages: 2, unseen: 1 }, 'LIST-STATUS');

  const box = await client.mailboxOpen('Drafts');
  t.equal(box.exists, 2);
  t.equal(box.uidNext, 3);
  t.notOk(box.readOnly);
  t.ok(box.permanentFlags?.has('\\*') && box.flags.has('$Work'));
  t.ok(box.highestModseq && box.highestModseq > 1n);
  const first = await client.fetchOne('1', { flags: true, internalDate: true });
  t.equal(first && (first.internalDate as Date).toISOString(), date.toISOString(), 'internal date as APPEND gave it');
  t.ok(first && first.flags?.has('$Work'));
  const examined = await client.mailboxOpen('Sent', { readOnly: true });
  t.ok(examined.readOnly);
  t.equal(examined.permanentFlags?.size ?? 0, 0);
  await t.rejects(client.mailboxOpen('Nowhere'));
  await t.rejects(client.append('Nowhere', message('x')), 'TRYCREATE');
});

t.test('imapflow: quota and OVERQUOTA; the APPENDLIMIT it reads', async (t) => {
  const { port, store } = await setUp(t, 4096);
  store.setQuota(USER, 2048);
  const client = await flow(t, port);
  const quota = await client.getQuota('INBOX');
  // imapflow gives STORAGE in bytes (the wire says KiB: `STORAGE 0 2`).
  t.same(quota && quota.storage, { usage: 0, limit: 2048, status: '0%' });
  await client.append('INBOX', message('fits'));
  const big = `${message('too much')}${'x'.repeat(2100)}`;
  const refused = await client.append('INBOX', big).then(() => null, (error: { serverResponseCode?: string }) => error);
  t.equal(refused?.serverResponseCode, 'OVERQUOTA');
  // imapflow refuses by itself what the advertised APPENDLIMIT (RFC 7889) will not take.
  const huge = `${message('too big')}${'x'.repeat(5000)}`;
  const tooBig = await client.append('INBOX', huge).then(() => null, (error: { serverResponseCode?: string }) => error);
  t.equal(tooBig?.serverResponseCode, 'APPENDLIMIT');
});

t.test('raw: TOOBIG for a LITERAL+ APPEND over the limit, SIZE in STATUS', async (t) => {
  const { port } = await setUp(t, 100);
  const client = await raw(t, port);
  client.send(`a APPEND INBOX {101+}\r\n${'x'.repeat(101)}\r\n`);
  t.same(await client.until(/^a /), ['a NO [TOOBIG] Message larger than 100 bytes']);
  const appended = await client.command('b', 'APPEND INBOX {20+}\r\nSubject: s\r\n\r\nbody\r\n');
  t.match(appended.at(-1), /^b OK \[APPENDUID \d+ 1\] APPEND completed$/);
  t.same(await client.command('c', 'STATUS INBOX (MESSAGES SIZE APPENDLIMIT)'), ['* STATUS INBOX (MESSAGES 1 SIZE 20 APPENDLIMIT 100)', 'c OK STATUS completed']);
});

t.test('raw: QRESYNC resync after changes made while away', async (t) => {
  const { port, store } = await setUp(t);
  for (const subject of ['one', 'two', 'three']) await store.appendBytes(USER, 'INBOX', message(subject));
  const client = await raw(t, port);
  await client.command('a', 'ENABLE QRESYNC');
  const selected = await client.command('b', 'SELECT INBOX (QRESYNC (1 1))');
  const uidValidity = /UIDVALIDITY (\d+)/.exec(selected.join('\n'))?.[1];
  const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(selected.join('\n'))?.[1]);
  await client.command('c', 'STORE 1 +FLAGS (\\Seen)');
  await client.command('d', 'STORE 2 +FLAGS (\\Deleted)');
  await client.command('e', 'EXPUNGE');
  await client.command('f', 'UNSELECT');
  const resync = await client.command('g', `SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))`);
  t.match(resync.join('\n'), /\* VANISHED \(EARLIER\) 2\n/);
  t.match(resync.join('\n'), /\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)/);
  t.notOk(resync.some((l) => l.includes('UID 3')), 'message 3 did not change');
  t.match(resync.at(-1), /^g OK \[READ-WRITE\]/);
  const again = await client.command('h', 'EXAMINE INBOX');
  t.equal(again[0], '* OK [CLOSED] Previous mailbox closed.');
  t.match((await client.command('i', 'SELECT INBOX (QRESYNC (1))')).at(-1), /^i BAD/);
});

t.test('raw: LIST-EXTENDED, LSUB, quota answers on the wire', async (t) => {
  const { port, store } = await setUp(t);
  const client = await raw(t, port);
  await client.command('a', 'CREATE Projects/Alpha');
  await client.command('b', 'SUBSCRIBE Projects/Alpha');
  await client.command('c', 'UNSUBSCRIBE Projects');
  t.same(await client.command('d', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" Projects'), ['* LIST () "/" Projects (CHILDINFO ("SUBSCRIBED"))', 'd OK LIST completed']);
  t.same(await client.command('e', 'LSUB "" Proj%'), ['* LSUB (\\Noselect) "/" Projects', 'e OK LSUB completed']);
  t.same(await client.command('f', 'LIST "" ""'), ['* LIST (\\Noselect) "/" ""', 'f OK LIST completed']);
  t.same(await client.command('g', 'GETQUOTAROOT INBOX'), ['* QUOTAROOT INBOX', 'g OK GETQUOTAROOT completed']);
  store.setQuota(USER, 10 * 1024 * 1024);
  t.same(await client.command('h', 'GETQUOTAROOT INBOX'), ['* QUOTAROOT INBOX ""', '* QUOTA "" (STORAGE 0 10240)', 'h OK GETQUOTAROOT completed']);
  t.same(await client.command('i', 'SETQUOTA "" (STORAGE 1)'), ['i NO [CANNOT] Quotas are set by the administrator']);
  t.same(await client.command('j', 'CREATE Mine (USE (\\Junk))'), ['j OK CREATE completed']);
  t.same(await client.command('k', 'LIST "" Mine'), ['* LIST (\\HasNoChildren \\Junk) "/" Mine', 'k OK LIST completed']);
});
