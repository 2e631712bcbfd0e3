// The IMAP backend of src/mailbox driven directly (no server): LOGIN through the shared login guard,
// folder operations and their RFC 5530 codes, APPEND and FETCH, STATUS and QUOTA. Run on every
// FolderStore in test/helpers/mailbox-backends.ts.
import t, { type Test } from 'tap';
import { ImapBackendError } from '../../src/imap/backend.js';
import { MemoryFolderStore, memoryImapBackend } from '../helpers/memory-folder-store.js';
import { ALICE, BOB, CLIENT, fetchAll, MAKERS, message, PASSWORD, type BackendFixture, type FixtureOptions } from '../helpers/mailbox-backends.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ImapBackendError) return err.code;
    throw err;
  }
  return 'resolved';
}

for (const { kind, make } of MAKERS) {
  const setup = async (t: Test, options: FixtureOptions = {}): Promise<BackendFixture> => {
    const fixture = await make(options);
    t.teardown(() => fixture.close());
    return fixture;
  };

  t.test(`${kind}: login`, async (t) => {
    const f = await setup(t, { guard: { authFailureLimit: 3 } });
    const account = await f.backend.login('Alice@Example.com', PASSWORD, CLIENT);
    t.equal(account.user, ALICE, 'the canonical address');
    t.equal(await codeOf(f.backend.login(ALICE, 'wrong', CLIENT)), 'AUTHENTICATIONFAILED');
    t.equal(await codeOf(f.backend.login('nobody@example.com', 'x', CLIENT)), 'AUTHENTICATIONFAILED');
    t.equal(await codeOf(f.backend.login(ALICE, 'wrong again', CLIENT)), 'AUTHENTICATIONFAILED');
    // Three failures from this address: the guard refuses it now, even with the right password.
    t.equal(await codeOf(f.backend.login(ALICE, PASSWORD, CLIENT)), 'UNAVAILABLE');
    t.ok(await f.backend.login(ALICE, PASSWORD, { remoteAddress: '127.0.0.2', secure: false }), 'another address still logs in');
    // The guard is the one SMTP uses: failures counted there count here.
    const smtpSide = f.guard.begin('127.0.0.3', BOB);
    t.ok(smtpSide.admitted);
    if (smtpSide.admitted) for (let i = 0; i < 3; i++) (i === 0 ? smtpSide.attempt : (f.guard.begin('127.0.0.3', BOB) as { attempt: { failed(): number } }).attempt).failed();
    t.equal(await codeOf(f.backend.login(BOB, PASSWORD, { remoteAddress: '127.0.0.3', secure: true })), 'UNAVAILABLE', 'refused after failures over SMTP');
  });

  t.test(`${kind}: folders`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    const names = async () => (await account.listFolders()).map((folder) => folder.name).sort();
    t.same(await names(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    t.same((await account.listFolders()).find((folder) => folder.name === 'Sent')?.specialUse, '\\Sent');

    await account.createFolder('Projects/2026/Q1');
    t.same(await names(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Projects', 'Projects/2026', 'Projects/2026/Q1', 'Sent', 'Trash'], 'superiors made (RFC 3501 6.3.3)');
    await account.createFolder('Lists/');
    t.ok((await names()).includes('Lists'), 'a trailing separator is dropped');
    t.equal(await codeOf(account.createFolder('Lists')), 'ALREADYEXISTS');
    t.equal(await codeOf(account.createFolder('inbox')), 'ALREADYEXISTS');
    t.equal(await codeOf(account.createFolder('bad//name')), 'CANNOT');

    await account.renameFolder('Projects', 'Work/Projects');
    t.same((await names()).filter((name) => name.startsWith('Work')), ['Work', 'Work/Projects', 'Work/Projects/2026', 'Work/Projects/2026/Q1'], 'children go along');
    t.equal(await codeOf(account.renameFolder('Nope', 'Other')), 'NONEXISTENT');
    t.equal(await codeOf(account.renameFolder('Lists', 'Sent')), 'ALREADYEXISTS');

    await account.deleteFolder('Lists');
    t.notOk((await names()).includes('Lists'));
    t.equal(await codeOf(account.deleteFolder('Lists')), 'NONEXISTENT');
    t.equal(await codeOf(account.deleteFolder('INBOX')), 'CANNOT');
    t.equal(await codeOf(account.deleteFolder('inbox')), 'CANNOT');

    await account.subscribe('Work', false);
    t.equal((await account.listFolders()).find((folder) => folder.name === 'Work')?.subscribed, false);
    t.equal(await codeOf(account.subscribe('Nope', true)), 'NONEXISTENT');
    t.equal(await codeOf(account.status('Nope')), 'NONEXISTENT');
    t.equal(await codeOf(account.select('Nope', { readOnly: false })), 'NONEXISTENT');

    // Bob's folders are his own.
    const bob = await f.login(BOB);
    t.notOk((await bob.listFolders()).some((folder) => folder.name === 'Work'));
  });

  t.test(`${kind}: rename INBOX`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    await account.append('INBOX', Buffer.from(message('one')), [], null);
    await account.append('INBOX', Buffer.from(message('two')), ['\\Seen'], null);
    await account.renameFolder('INBOX', 'Old mail');
    t.equal((await account.status('INBOX')).messages, 0, 'INBOX stays, empty (RFC 3501 6.3.5)');
    const old = await account.status('Old mail');
    t.equal(old.messages, 2);
    t.equal(old.unseen, 1);
  });

  t.test(`${kind}: append and fetch`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    const bytes = Buffer.from(message('Round trip', 'Body line.\r\n'));
    const date = new Date('2026-01-02T03:04:05Z');
    const before = await account.status('Drafts');
    const appended = await account.append('Drafts', bytes, ['\\Draft', '\\seen', '$Label1', '$label1'], date);
    t.equal(appended.uidValidity, before.uidValidity);
    t.equal(appended.uid, before.uidNext);

    const drafts = await account.select('Drafts', { readOnly: false });
    t.same(drafts.messages.map((m) => m.uid), [appended.uid]);
    t.same([...drafts.messages[0]!.flags].sort(), ['$Label1', '\\Draft', '\\Seen'], 'system flags spelled the RFC way, duplicates dropped');
    t.same(drafts.keywords, ['$Label1']);
    const [view] = await fetchAll(drafts, [appended.uid]);
    t.ok(view);
    t.equal(view!.size, bytes.length);
    t.equal(view!.internalDate.getTime(), date.getTime());
    t.same(await view!.section({ path: [] }), bytes);
    t.same((view!.envelope() as unknown[])[1], 'Round trip');
    t.same(view!.bodyStructure(false), ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 12, 1]);
    t.same(await fetchAll(drafts, [appended.uid + 1, 999]), [], 'UIDs not there give nothing');

    t.equal(await codeOf(account.append('Nope', bytes, [], null)), 'TRYCREATE');
    t.equal(await codeOf(account.append('INBOX', bytes, ['\\Recent'], null)), 'CANNOT');
    t.equal(await codeOf(account.append('INBOX', bytes, ['\\Bogus'], null)), 'CANNOT');
    t.equal(await codeOf(account.append('INBOX', bytes, ['bad(keyword'], null)), 'CANNOT');
    const now = Date.now();
    const second = await account.append('INBOX', bytes, [], null);
    const inbox = await account.select('INBOX', { readOnly: true });
    const [fresh] = await fetchAll(inbox, [second.uid], false);
    t.ok(Math.abs(fresh!.internalDate.getTime() - now) < 5_000, 'no date: now');
    t.throws(() => fresh!.envelope(), 'no index asked for: envelope() is a bug of the caller');
    t.same(await fresh!.section({ path: [], text: 'HEADER.FIELDS', fields: ['subject'] }), Buffer.from('Subject: Round trip\r\n\r\n'), 'sections load the index when needed');
  });

  t.test(`${kind}: status, quota and limits`, async (t) => {
    const small = Buffer.from(message('small'));
    const filler = Buffer.from(message('filler', 'x'.repeat(800)));
    // Room for two small ones and the filler, and half a small one more.
    const quota = small.length * 2 + filler.length + small.length / 2;
    const f = await setup(t, { quotas: { [ALICE]: quota }, appendLimit: 1_200 });
    const account = await f.login();
    t.equal(account.appendLimit, 1_200);
    await account.append('INBOX', small, ['\\Seen'], null);
    await account.append('INBOX', small, [], null);
    const status = await account.status('INBOX');
    t.match(status, { messages: 2, unseen: 1, size: small.length * 2, recent: 2 });
    t.ok(status.highestModseq >= 1);
    t.same(await account.quota(), { usedBytes: small.length * 2, limitBytes: quota, messages: 2 });
    t.equal(await codeOf(account.append('INBOX', Buffer.alloc(1_300, 'a'), [], null)), 'TOOBIG', 'over APPENDLIMIT (RFC 7889)');
    await account.append('INBOX', filler, [], null);
    t.equal(await codeOf(account.append('INBOX', small, [], null)), 'OVERQUOTA');
    t.equal((await account.status('INBOX')).messages, 3, 'nothing stored by the refused APPEND');
  });
}

t.test('a message the store has no index for is indexed when fetched', async (t) => {
  const store = new MemoryFolderStore({ indexer: null });
  const { backend } = memoryImapBackend({ store, users: { [ALICE]: PASSWORD } });
  t.teardown(() => backend.stop());
  await store.appendBytes(ALICE, 'INBOX', message('unindexed'));
  const account = await backend.login(ALICE, PASSWORD, CLIENT);
  const inbox = await account.select('INBOX', { readOnly: true });
  const [view] = await fetchAll(inbox, [1]);
  t.equal((view!.envelope() as unknown[])[1], 'unindexed');
  t.same(await view!.section({ path: [1] }), Buffer.from('Hello.\r\n'));
});
