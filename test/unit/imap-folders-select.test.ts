// SELECT and EXAMINE (src/imap/folders/open-folder.ts) against an in-memory account: the exact lines
// a client reads, CONDSTORE and QRESYNC, and the session's state after success and failure.
import t from 'tap';
import { MemoryAccount, run, testSession } from '../helpers/imap-command-context.js';

function account(): MemoryAccount {
  const a = new MemoryAccount();
  a.add('INBOX', ['\\Seen']);
  a.add('INBOX', ['\\Seen', '$Forwarded']);
  a.add('INBOX', []);
  a.add('INBOX', ['\\Flagged']);
  return a;
}

t.test('SELECT answers as RFC 3501 6.3.1 and Dovecot do', async (t) => {
  const a = account();
  const uv = a.folder('INBOX').uidValidity;
  const session = testSession(a);
  t.same(await run(session, 'a1 SELECT INBOX'), [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)] Flags permitted.',
    '* 4 EXISTS',
    '* 4 RECENT',
    '* OK [UNSEEN 3] First unseen.',
    `* OK [UIDVALIDITY ${uv}] UIDs valid`,
    '* OK [UIDNEXT 5] Predicted next UID',
    '* OK [HIGHESTMODSEQ 5] Highest',
    'a1 OK [READ-WRITE] SELECT completed',
  ]);
  t.equal(session.state, 'selected');
  t.equal(session.selected?.folder.name, 'INBOX');
  t.notOk(session.enabled.has('CONDSTORE'), 'CONDSTORE is not turned on by a plain SELECT');
  const again = await run(session, 'a2 SELECT inbox');
  t.ok(again.includes('* 0 RECENT'), '\\Recent went to the first session');
  t.equal(again[0], '* OK [CLOSED] Previous mailbox closed.', '[CLOSED] even without QRESYNC, as Dovecot and RFC 9051 6.3.2');
});

t.test('EXAMINE is read-only and keeps no permanent flags', async (t) => {
  const session = testSession(account());
  const lines = await run(session, 'b1 EXAMINE INBOX');
  t.equal(lines[1], '* OK [PERMANENTFLAGS ()] Read-only mailbox.');
  t.equal(lines.at(-1), 'b1 OK [READ-ONLY] EXAMINE completed');
  t.ok(lines.includes('* 0 RECENT'), 'EXAMINE claims no \\Recent');
  t.equal(session.state, 'selected');
});

t.test('an empty folder has no UNSEEN line', async (t) => {
  const session = testSession(new MemoryAccount());
  const lines = await run(session, 'c1 SELECT Sent');
  t.ok(lines.includes('* 0 EXISTS'));
  t.notOk(lines.some((l) => l.includes('UNSEEN')));
  t.ok(lines.includes('* OK [UIDNEXT 1] Predicted next UID'));
});

t.test('a failed SELECT leaves the session authenticated (RFC 3501 6.3.1)', async (t) => {
  const session = testSession(account());
  await run(session, 'd1 SELECT INBOX');
  t.same(await run(session, 'd2 SELECT Nowhere'), ['* OK [CLOSED] Previous mailbox closed.', 'd2 NO [NONEXISTENT] No folder Nowhere']);
  t.equal(session.state, 'authenticated');
  t.equal(session.selected, null);
  t.same(await run(session, 'd3 SELECT "&Jjo"'), ['d3 NO [NONEXISTENT] Mailbox name is not valid modified UTF-7']);
});

t.test('syntax errors are BAD and leave the selected folder alone', async (t) => {
  const session = testSession(account());
  await run(session, 'e1 SELECT INBOX');
  const cases = ['e2 SELECT', 'e3 SELECT INBOX (FOO)', 'e4 SELECT INBOX CONDSTORE', 'e5 SELECT INBOX (QRESYNC (1 2))', 'e6 SELECT (INBOX)', 'e7 SELECT INBOX () extra'];
  for (const line of cases) {
    const lines = await run(session, line);
    t.match(lines.at(-1), / BAD /, line);
    t.equal(session.state, 'selected', `${line} leaves INBOX selected`);
  }
});

t.test('(CONDSTORE) turns CONDSTORE on', async (t) => {
  const session = testSession(account());
  const lines = await run(session, 'f1 SELECT INBOX (CONDSTORE)');
  t.equal(lines.at(-1), 'f1 OK [READ-WRITE] SELECT completed');
  t.ok(session.enabled.has('CONDSTORE'));
});

t.test('QRESYNC: VANISHED (EARLIER) and the changed flags, then [CLOSED] on the next SELECT', async (t) => {
  const a = account();
  const inbox = a.folder('INBOX');
  const uv = inbox.uidValidity;
  const since = inbox.highestModseq;
  a.setFlags('INBOX', 2, ['\\Seen', '\\Answered']);
  a.remove('INBOX', 3);
  const newUid = a.add('INBOX', []);
  const session = testSession(a);
  session.enabled.add('QRESYNC');
  const lines = await run(session, `g1 SELECT INBOX (QRESYNC (${uv} ${since}))`);
  const tail = lines.slice(lines.indexOf('* OK [HIGHESTMODSEQ 8] Highest') + 1);
  t.same(tail, [
    '* VANISHED (EARLIER) 3',
    '* 2 FETCH (UID 2 FLAGS (\\Seen \\Answered \\Recent) MODSEQ (6))',
    `* 4 FETCH (UID ${newUid} FLAGS (\\Recent) MODSEQ (8))`,
    'g1 OK [READ-WRITE] SELECT completed',
  ]);
  t.ok(session.enabled.has('CONDSTORE'), 'QRESYNC implies CONDSTORE');

  const known = await run(session, `g2 EXAMINE INBOX (QRESYNC (${uv} ${since} 1:2))`);
  t.equal(known[0], '* OK [CLOSED] Previous mailbox closed.', '[CLOSED] comes first (RFC 7162 3.2.11)');
  t.notOk(known.some((l) => l.startsWith('* VANISHED')), 'UID 3 is not among the known UIDs');
  t.same(known.filter((l) => l.includes('FETCH')), ['* 2 FETCH (UID 2 FLAGS (\\Seen \\Answered) MODSEQ (6))']);

  const matchData = await run(session, `g3 EXAMINE INBOX (QRESYNC (${uv} ${since} 1:5 (1:3 1:3)))`);
  t.ok(matchData.includes('* VANISHED (EARLIER) 3'));

  const stale = await run(session, `g4 EXAMINE INBOX (QRESYNC (${uv + 1} 1))`);
  t.notOk(stale.some((l) => l.startsWith('* VANISHED') || l.includes('FETCH')), 'another UIDVALIDITY: nothing to resync');

  t.match((await run(session, 'g5 SELECT INBOX (QRESYNC (0 1))')).at(-1), /^g5 BAD/, 'UIDVALIDITY 0 is not one');
  t.match((await run(session, `g6 SELECT INBOX (QRESYNC (${uv} 1 1:* (1:2)))`)).at(-1), /^g6 BAD/);
});

t.test('changes others make to the selected folder are told at the next command', async (t) => {
  const a = account();
  const session = testSession(a);
  await run(session, 'h1 SELECT INBOX');
  a.add('INBOX', []);
  t.same(await run(session, 'h2 STATUS Sent (MESSAGES)'), ['* STATUS Sent (MESSAGES 0)', '* 5 EXISTS', '* 4 RECENT', 'h2 OK STATUS completed']);
});
