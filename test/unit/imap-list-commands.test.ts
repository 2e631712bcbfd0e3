// LIST and LSUB (src/imap/commands/list.ts, lsub.ts) against an in-memory account: RFC 3501 6.3.8/6.3.9,
// RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS, RFC 3348 CHILDREN.
import t from 'tap';
import { MemoryAccount, run, testSession } from '../helpers/imap-command-context.js';

async function setUp() {
  const account = new MemoryAccount();
  for (const name of ['Archive/2024', 'Archive/2024/Q1', 'Projects/Alpha', 'Zürich', 'Zürich/Büro', 'Work & Play']) await account.createFolder(name);
  await account.subscribe('Archive/2024/Q1', true);
  await account.subscribe('Projects/Alpha', true);
  await account.subscribe('Trash', false);
  await account.subscribe('Junk', false);
  account.add('INBOX', []);
  account.add('INBOX', ['\\Seen']);
  return { account, session: testSession(account) };
}

t.test('LIST "" "" gives the delimiter (RFC 3501 6.3.8)', async (t) => {
  const { session } = await setUp();
  t.same(await run(session, 'a LIST "" ""'), ['* LIST (\\Noselect) "/" ""', 'a OK LIST completed']);
  t.same(await run(session, 'b LIST "Archive/2024" ""'), ['* LIST (\\Noselect) "/" Archive/', 'b OK LIST completed'], 'the root of the reference, as Dovecot');
  t.same(await run(session, 'c LIST Archive ""'), ['* LIST (\\Noselect) "/" ""', 'c OK LIST completed']);
});

t.test('LIST "" * lists every folder, INBOX first, missing levels \\Noselect', async (t) => {
  const { session } = await setUp();
  t.same(await run(session, 'a LIST "" *'), [
    '* LIST (\\HasNoChildren) "/" INBOX',
    '* LIST (\\HasChildren \\Archive) "/" Archive',
    '* LIST (\\HasChildren) "/" Archive/2024',
    '* LIST (\\HasNoChildren) "/" Archive/2024/Q1',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\Noselect \\HasChildren) "/" Projects',
    '* LIST (\\HasNoChildren) "/" Projects/Alpha',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    '* LIST (\\HasNoChildren) "/" "Work &- Play"',
    '* LIST (\\HasChildren) "/" Z&APw-rich',
    '* LIST (\\HasNoChildren) "/" Z&APw-rich/B&APw-ro',
    'a OK LIST completed',
  ]);
});

t.test('% stops at a level; references join; INBOX without case', async (t) => {
  const { session } = await setUp();
  const names = async (line: string) => (await run(session, line)).slice(0, -1).map((l) => l.replace(/^\* LIST \([^)]*\) "\/" /, ''));
  t.same(await names('a LIST "" %'), ['INBOX', 'Archive', 'Drafts', 'Junk', 'Projects', 'Sent', 'Trash', '"Work &- Play"', 'Z&APw-rich']);
  t.same(await names('b LIST Archive/ %'), ['Archive/2024']);
  t.same(await names('c LIST "" Archive/%/%'), ['Archive/2024/Q1']);
  t.same(await names('d LIST "" inbox'), ['INBOX']);
  t.same(await names('e LIST "" Z&APw-rich/*'), ['Z&APw-rich/B&APw-ro']);
  t.same(await names('f LIST "" nothing*'), []);
  t.same(await names('g LIST "" "Work & Play"'), [], 'an invalid modified UTF-7 pattern matches nothing');
  t.same(await names('h LIST "" "Work &- Play"'), ['"Work &- Play"']);
});

t.test('after ENABLE UTF8=ACCEPT names go both ways as UTF-8 (RFC 6855 3)', async (t) => {
  const { session } = await setUp();
  session.enabled.add('UTF8=ACCEPT');
  t.same(await run(session, 'a LIST "" "Zürich/*"'), ['* LIST (\\HasNoChildren) "/" "Zürich/Büro"', 'a OK LIST completed'].map((l) => Buffer.from(l).toString('latin1')));
});

// The extended syntax gives only the attributes asked for, as Dovecot 2.3 does (these answers were
// compared with it): RFC 5258 4 lets a server add CHILDREN unasked, Dovecot does not.
t.test('LIST-EXTENDED selection and return options (RFC 5258, RFC 6154)', async (t) => {
  const { session } = await setUp();
  t.same(await run(session, 'a LIST (SUBSCRIBED) "" *'), [
    '* LIST (\\Subscribed) "/" INBOX',
    '* LIST (\\Subscribed) "/" Archive',
    '* LIST (\\Subscribed) "/" Archive/2024/Q1',
    '* LIST (\\Subscribed) "/" Drafts',
    '* LIST (\\Subscribed) "/" Projects/Alpha',
    '* LIST (\\Subscribed) "/" Sent',
    'a OK LIST completed',
  ]);
  t.same(await run(session, 'b LIST (SUBSCRIBED RECURSIVEMATCH) "" %'), [
    '* LIST (\\Subscribed) "/" INBOX',
    '* LIST (\\Subscribed) "/" Archive (CHILDINFO ("SUBSCRIBED"))',
    '* LIST (\\Subscribed) "/" Drafts',
    '* LIST (\\NonExistent) "/" Projects (CHILDINFO ("SUBSCRIBED"))',
    '* LIST (\\Subscribed) "/" Sent',
    'b OK LIST completed',
  ]);
  t.same(await run(session, 'b2 LIST (SUBSCRIBED RECURSIVEMATCH) "" *'), [
    '* LIST (\\Subscribed) "/" INBOX',
    '* LIST (\\Subscribed) "/" Archive (CHILDINFO ("SUBSCRIBED"))',
    '* LIST (\\Subscribed) "/" Archive/2024/Q1',
    '* LIST (\\Subscribed) "/" Drafts',
    '* LIST (\\Subscribed) "/" Projects/Alpha',
    '* LIST (\\Subscribed) "/" Sent',
    'b2 OK LIST completed',
  ], 'a parent whose subscribed child is itself listed is not added');
  t.same(await run(session, 'b3 LIST (SUBSCRIBED RECURSIVEMATCH) "" Archive/%'), ['* LIST () "/" Archive/2024 (CHILDINFO ("SUBSCRIBED"))', 'b3 OK LIST completed']);
  t.same(await run(session, 'b4 LIST (SUBSCRIBED) "" * RETURN (CHILDREN)'), [
    '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
    '* LIST (\\Subscribed \\HasChildren) "/" Archive',
    '* LIST (\\Subscribed \\HasNoChildren) "/" Archive/2024/Q1',
    '* LIST (\\Subscribed \\HasNoChildren) "/" Drafts',
    '* LIST (\\Subscribed \\HasNoChildren) "/" Projects/Alpha',
    '* LIST (\\Subscribed \\HasNoChildren) "/" Sent',
    'b4 OK LIST completed',
  ]);
  t.same(await run(session, 'c LIST (SPECIAL-USE) "" *'), [
    '* LIST (\\Archive) "/" Archive',
    '* LIST (\\Drafts) "/" Drafts',
    '* LIST (\\Junk) "/" Junk',
    '* LIST (\\Sent) "/" Sent',
    '* LIST (\\Trash) "/" Trash',
    'c OK LIST completed',
  ]);
  t.same((await run(session, 'c2 LIST "" % RETURN (SPECIAL-USE)')).slice(0, 3), ['* LIST () "/" INBOX', '* LIST (\\Archive) "/" Archive', '* LIST (\\Drafts) "/" Drafts']);
  t.same(await run(session, 'd LIST "" (INBOX Projects Trash) RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)'), [
    '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
    '* LIST (\\NonExistent \\HasChildren) "/" Projects',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    'd OK LIST completed',
  ]);
  t.same(await run(session, 'e LIST () "" (Sent Nope Projects)'), ['* LIST (\\NonExistent) "/" Projects', '* LIST () "/" Sent', 'e OK LIST completed']);
});

t.test('LIST-STATUS: STATUS after each selectable folder (RFC 5819)', async (t) => {
  const { session } = await setUp();
  t.same(await run(session, 'a LIST "" (INBOX Projects) RETURN (STATUS (MESSAGES UNSEEN))'), [
    '* LIST () "/" INBOX',
    '* STATUS INBOX (MESSAGES 2 UNSEEN 1)',
    '* LIST (\\NonExistent) "/" Projects',
    'a OK LIST completed',
  ]);
  t.notOk(session.enabled.has('CONDSTORE'));
  await run(session, 'b LIST "" INBOX RETURN (STATUS (HIGHESTMODSEQ))');
  t.ok(session.enabled.has('CONDSTORE'), 'STATUS HIGHESTMODSEQ enables CONDSTORE (RFC 7162 3.1)');
});

t.test('LIST syntax errors are BAD', async (t) => {
  const { session } = await setUp();
  const cases = [
    'a LIST',
    'a LIST ""',
    'a LIST (BOGUS) "" *',
    'a LIST (RECURSIVEMATCH) "" *',
    'a LIST (REMOTE RECURSIVEMATCH) "" *',
    'a LIST "" () ',
    'a LIST "" * RETURN',
    'a LIST "" * RETURN (BOGUS)',
    'a LIST "" * RETURN (STATUS)',
    'a LIST "" * RETURN (STATUS (NOPE))',
    'a LIST "" * RETURN (CHILDREN) extra',
    'a LIST "" * EXTRA (CHILDREN)',
    'a LIST ("a") "" *',
  ];
  for (const line of cases) t.match((await run(session, line)).at(-1), /^a BAD /, line);
});

t.test('LSUB lists subscriptions, with \\Noselect holders under % (RFC 3501 6.3.9), special uses as Dovecot', async (t) => {
  const { session } = await setUp();
  t.same(await run(session, 'a LSUB "" *'), [
    '* LSUB () "/" INBOX',
    '* LSUB (\\Archive) "/" Archive',
    '* LSUB () "/" Archive/2024/Q1',
    '* LSUB (\\Drafts) "/" Drafts',
    '* LSUB () "/" Projects/Alpha',
    '* LSUB (\\Sent) "/" Sent',
    'a OK LSUB completed',
  ]);
  t.same(await run(session, 'b LSUB "" %'), [
    '* LSUB () "/" INBOX',
    '* LSUB (\\Archive) "/" Archive',
    '* LSUB (\\Drafts) "/" Drafts',
    '* LSUB (\\Noselect) "/" Projects',
    '* LSUB (\\Sent) "/" Sent',
    'b OK LSUB completed',
  ]);
  t.same(await run(session, 'c LSUB Archive/ %'), ['* LSUB (\\Noselect) "/" Archive/2024', 'c OK LSUB completed']);
  t.same(await run(session, 'd LSUB "" ""'), ['d OK LSUB completed'], 'as Dovecot: the delimiter query is LIST\'s');
  t.match((await run(session, 'e LSUB ""')).at(-1), /^e BAD/);
});
