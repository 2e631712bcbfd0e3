// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, APPEND and the QUOTA commands
// (src/imap/commands/) against an in-memory account: the lines a client reads and what the account did.
import t from 'tap';
import { MemoryAccount, run, testSession } from '../helpers/imap-command-context.js';

const setUp = () => {
  const account = new MemoryAccount();
  return { account, session: testSession(account) };
};

t.test('CREATE', async (t) => {
  const { account, session } = setUp();
  t.same(await run(session, 'a CREATE Projects'), ['a OK CREATE completed']);
  t.same(await run(session, 'b CREATE Projects/Alpha/'), ['b OK CREATE completed'], 'a trailing delimiter is dropped (RFC 3501 6.3.3)');
  t.ok(account.folders.has('Projects/Alpha'));
  t.same(await run(session, 'c CREATE "Z&APw-rich"'), ['c OK CREATE completed']);
  t.ok(account.folders.has('Zürich'), 'modified UTF-7 decoded');
  t.same(await run(session, 'd CREATE inbox'), ['d NO [ALREADYEXISTS] INBOX always exists']);
  t.same(await run(session, 'e CREATE Projects'), ['e NO [ALREADYEXISTS] Folder already exists']);
  t.same(await run(session, 'f CREATE Mine (USE (\\sent))'), ['f OK CREATE completed']);
  t.equal(account.folders.get('Mine')?.specialUse, '\\Sent', 'RFC 6154 CREATE-SPECIAL-USE');
  t.same(await run(session, 'g CREATE All (USE (\\All))'), ['g NO [USEATTR] A folder here can have one special use: \\Archive, \\Drafts, \\Junk, \\Sent or \\Trash']);
  t.same(await run(session, 'h CREATE Two (USE (\\Sent \\Trash))'), ['h NO [USEATTR] A folder here can have one special use: \\Archive, \\Drafts, \\Junk, \\Sent or \\Trash']);
  t.notOk(account.folders.has('All') || account.folders.has('Two'), 'refused uses make no folder');
  t.same(await run(session, 'i CREATE Plain (USE ())'), ['i OK CREATE completed']);
  const refused: [string, string][] = [
    ['j CREATE "a//b"', 'j NO [CANNOT] Mailbox name has an empty level'],
    ['j CREATE "/a"', 'j NO [CANNOT] Mailbox name has an empty level'],
    ['j CREATE "a*"', 'j NO [CANNOT] Mailbox name holds a LIST wildcard (* or %)'],
    ['j CREATE "a%b"', 'j NO [CANNOT] Mailbox name holds a LIST wildcard (* or %)'],
    ['j CREATE ""', 'j NO [CANNOT] Mailbox name is empty'],
    ['j CREATE "&Jjo"', 'j NO [CANNOT] Mailbox name is not valid modified UTF-7'],
    ['j CREATE {3}\r\na\tb', 'j NO [CANNOT] Mailbox name is not valid modified UTF-7'],
    ['j CREATE {4}\r\n\u00fc\tb', 'j NO [CANNOT] Mailbox name holds a control character'],
    [`j CREATE ${'x'.repeat(600)}`, 'j NO [CANNOT] Mailbox name is too long'],
  ];
  for (const [line, want] of refused) t.same(await run(session, line), [want], line.slice(0, 30));
  for (const line of ['k CREATE', 'k CREATE a b', 'k CREATE a (USE)', 'k CREATE a (FOO (x))', 'k CREATE a (USE (Sent))', 'k CREATE (a)']) {
    t.match((await run(session, line)).at(-1), /^k BAD /, line);
  }
});

t.test('DELETE', async (t) => {
  const { account, session } = setUp();
  await account.createFolder('Old');
  await account.createFolder('Old/Child');
  t.same(await run(session, 'a DELETE INBOX'), ['a NO [CANNOT] INBOX cannot be deleted']);
  t.same(await run(session, 'b DELETE Nope'), ['b NO [NONEXISTENT] No folder Nope']);
  t.same(await run(session, 'c DELETE Old'), ['c OK DELETE completed']);
  t.ok(account.folders.has('Old/Child'), 'children stay (RFC 3501 6.3.4)');
  await run(session, 'd SELECT Old/Child');
  t.same(await run(session, 'e DELETE Old/Child'), ['* OK [CLOSED] Previous mailbox closed.', 'e OK DELETE completed']);
  t.equal(session.state, 'authenticated', 'deleting the selected folder closes it first');
});

t.test('RENAME', async (t) => {
  const { account, session } = setUp();
  await account.createFolder('A');
  await account.createFolder('A/B');
  t.same(await run(session, 'a RENAME A C'), ['a OK RENAME completed']);
  t.ok(account.folders.has('C/B'), 'children move along');
  t.same(await run(session, 'b RENAME C C/D'), ['b NO [CANNOT] A folder cannot be renamed to itself or under itself']);
  t.same(await run(session, 'c RENAME C inbox'), ['c NO [ALREADYEXISTS] INBOX always exists']);
  t.same(await run(session, 'd RENAME C Sent'), ['d NO [ALREADYEXISTS] Target exists']);
  t.same(await run(session, 'e RENAME Nope X'), ['e NO [NONEXISTENT] No folder Nope']);
  account.add('INBOX', []);
  t.same(await run(session, 'f RENAME INBOX INBOX/Old'), ['f OK RENAME completed']);
  t.equal(account.folder('INBOX/Old').messages.length, 1);
  t.equal(account.folder('INBOX').messages.length, 0, 'INBOX stays, empty (RFC 3501 6.3.5)');
  t.match((await run(session, 'g RENAME C')).at(-1), /^g BAD/);
});

t.test('SUBSCRIBE and UNSUBSCRIBE', async (t) => {
  const { account, session } = setUp();
  await account.createFolder('News');
  t.same(await run(session, 'a SUBSCRIBE News'), ['a OK SUBSCRIBE completed']);
  t.equal(account.folder('News').subscribed, true);
  t.same(await run(session, 'b UNSUBSCRIBE News'), ['b OK UNSUBSCRIBE completed']);
  t.equal(account.folder('News').subscribed, false);
  t.same(await run(session, 'c UNSUBSCRIBE Gone'), ['c OK UNSUBSCRIBE completed'], 'a name that is not there is fine');
  t.same(await run(session, 'd SUBSCRIBE Gone'), ['d NO [NONEXISTENT] No folder Gone']);
});

t.test('STATUS', async (t) => {
  const { account, session } = setUp();
  account.appendLimit = 5000;
  account.add('INBOX', [], 300);
  account.add('INBOX', ['\\Seen'], 200);
  const uv = account.folder('INBOX').uidValidity;
  t.same(await run(session, 'a STATUS inbox (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE APPENDLIMIT)'), [
    `* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY ${uv} UNSEEN 1 SIZE 500 APPENDLIMIT 5000)`,
    'a OK STATUS completed',
  ]);
  t.notOk(session.enabled.has('CONDSTORE'));
  t.same(await run(session, 'b STATUS Sent (HIGHESTMODSEQ)'), ['* STATUS Sent (HIGHESTMODSEQ 1)', 'b OK STATUS completed']);
  t.ok(session.enabled.has('CONDSTORE'), 'RFC 7162 3.1');
  t.same(await run(session, 'c STATUS Nope (MESSAGES)'), ['c NO [NONEXISTENT] No folder Nope']);
  await run(session, 'd SELECT INBOX');
  t.same(await run(session, 'e STATUS INBOX (MESSAGES)'), ['* STATUS INBOX (MESSAGES 2)', 'e OK STATUS completed'], 'the selected folder may be asked');
  for (const line of ['f STATUS INBOX', 'f STATUS INBOX ()', 'f STATUS INBOX (BOGUS)', 'f STATUS INBOX MESSAGES', 'f STATUS INBOX (DELETED)']) {
    t.match((await run(session, line)).at(-1), /^f BAD /, line);
  }
});

t.test('APPEND', async (t) => {
  const { account, session } = setUp();
  const uv = account.folder('Drafts').uidValidity;
  t.same(await run(session, 'a APPEND Drafts {5}\r\nHello'), [`a OK [APPENDUID ${uv} 1] APPEND completed`]);
  t.same(await run(session, 'b APPEND Drafts (\\seen \\Draft $Work) "17-Jul-1996 02:44:25 -0700" {5}\r\nHello'), [`b OK [APPENDUID ${uv} 2] APPEND completed`]);
  t.same(account.appended[1]?.flags, ['\\Seen', '\\Draft', '$Work']);
  t.equal(account.appended[1]?.internalDate?.toISOString(), '1996-07-17T09:44:25.000Z');
  t.same(await run(session, 'c APPEND Drafts " 5-Jan-2024 10:00:00 +0000" ~{3}\r\na\x00b'), [`c OK [APPENDUID ${uv} 3] APPEND completed`], 'literal8 (RFC 3516 4.4)');
  t.same(await run(session, 'c2 APPEND Drafts UTF8 (~{9}\r\nTo: Jörg)'), [`c2 OK [APPENDUID ${uv} 4] APPEND completed`], 'RFC 6855 4 UTF8 (literal8)');
  t.equal(account.appended[3]?.size, 9);
  t.same(await run(session, 'd APPEND Nope {1}\r\nx'), ['d NO [TRYCREATE] No such folder']);
  account.limitBytes = 10;
  t.same(await run(session, 'e APPEND Drafts {20}\r\n01234567890123456789'), ['e NO [OVERQUOTA] Quota exceeded']);
  account.limitBytes = 0;
  t.same(await run(testSession(account, { maxMessageSize: 8 }), 'f APPEND Drafts {9}\r\n123456789'), ['f NO [TOOBIG] Message larger than 8 bytes']);
  t.same(await run(session, 'g APPEND Drafts {0}\r\n'), ['g NO [CANNOT] An empty message cannot be stored']);
  const bad = [
    'h APPEND Drafts',
    'h APPEND Drafts "quoted message"',
    'h APPEND Drafts (\\Recent) {1}\r\nx',
    'h APPEND Drafts (\\Bogus) {1}\r\nx',
    'h APPEND Drafts (\\*) {1}\r\nx',
    'h APPEND Drafts ("str") {1}\r\nx',
    'h APPEND Drafts "1-Jan-2020 00:00:00 +0000" {1}\r\nx',
    'h APPEND Drafts "31-Feb-2020 00:00:00 +0000" {1}\r\nx',
    'h APPEND Drafts {1}\r\nx {1}\r\nx',
    'h APPEND Drafts () () {1}\r\nx',
    'h APPEND Drafts () " 1-Jan-2020 00:00:00 +0000" x {1}\r\nx',
    'h APPEND Drafts UTF8 ({1}\r\nx)',
    'h APPEND Drafts UTF8 (~{1}\r\nx ~{1}\r\ny)',
    'h APPEND UTF8 (~{1}\r\nx)',
  ];
  for (const line of bad) t.match((await run(session, line)).at(-1), /^h BAD /, JSON.stringify(line));
});

t.test('an APPEND that fills the account, and a SELECT of a full one, say OVERQUOTA untagged (RFC 9208 4.3.1)', async (t) => {
  const { account, session } = setUp();
  account.limitBytes = 10;
  const uv = account.folder('Drafts').uidValidity;
  t.same(await run(session, 'a APPEND Drafts {4}\r\nabcd'), [`a OK [APPENDUID ${uv} 1] APPEND completed`]);
  t.same(await run(session, 'b APPEND Drafts {6}\r\nabcdef'), ['* NO [OVERQUOTA] Mailbox is full: delete messages to make room for new mail', `b OK [APPENDUID ${uv} 2] APPEND completed`]);
  const selected = await run(session, 'c SELECT INBOX');
  t.equal(selected.at(-2), '* NO [OVERQUOTA] Mailbox is full: delete messages to make room for new mail');
  t.equal(selected.at(-1), 'c OK [READ-WRITE] SELECT completed');
});

t.test('APPEND to the selected folder shows the message before the OK', async (t) => {
  const { account, session } = setUp();
  await run(session, 'a SELECT INBOX');
  const uv = account.folder('INBOX').uidValidity;
  t.same(await run(session, 'b APPEND INBOX {2}\r\nhi'), ['* 1 EXISTS', '* 0 RECENT', `b OK [APPENDUID ${uv} 1] APPEND completed`]);
});

t.test('GETQUOTAROOT, GETQUOTA, SETQUOTA (RFC 9208)', async (t) => {
  const { account, session } = setUp();
  t.same(await run(session, 'a GETQUOTAROOT INBOX'), ['* QUOTAROOT INBOX', 'a OK GETQUOTAROOT completed'], 'no limit, no root');
  t.same(await run(session, 'b GETQUOTA ""'), ['b NO [NONEXISTENT] No such quota root']);
  account.limitBytes = 10 * 1024 * 1024;
  account.usedBytes = 5000;
  t.same(await run(session, 'c GETQUOTAROOT Sent'), ['* QUOTAROOT Sent ""', '* QUOTA "" (STORAGE 4 10240)', 'c OK GETQUOTAROOT completed']);
  t.same(await run(session, 'd GETQUOTA ""'), ['* QUOTA "" (STORAGE 4 10240)', 'd OK GETQUOTA completed']);
  t.same(await run(session, 'e GETQUOTA "user"'), ['e NO [NONEXISTENT] No such quota root']);
  t.same(await run(session, 'f GETQUOTAROOT Nope'), ['f NO [NONEXISTENT] No such folder']);
  t.same(await run(session, 'g SETQUOTA "" (STORAGE 100)'), ['g NO [CANNOT] Quotas are set by the administrator']);
  t.match((await run(session, 'h SETQUOTA ""')).at(-1), /^h BAD/);
  t.match((await run(session, 'i GETQUOTA')).at(-1), /^i BAD/);
});
