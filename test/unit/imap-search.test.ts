// SEARCH and UID SEARCH against a folder in memory: every key matching what it should, ESEARCH and
// MODSEQ results, and messages read only when a key needs them.
import t from 'tap';
import { searchCommand, uidSearchCommand } from '../../src/imap/commands/search.js';
import { storeCommand } from '../../src/imap/commands/store.js';
import { sentDay } from '../../src/imap/search/evaluate.js';
import { FakeMailbox, run, selectedSession } from '../helpers/imap-message-context.js';

function message(from: string, to: string, subject: string, date: string, body: string, extra = ''): string {
  return `From: ${from}\nTo: ${to}\nCc: carol@example.com\nSubject: ${subject}\nDate: ${date}\n${extra}\n${body}\n`;
}

function setup() {
  const mailbox = new FakeMailbox().add(
    // 1: seen, small, March 2024
    { raw: message('Joe <joe@example.com>', 'ann@example.com', 'Lunch on Friday', 'Tue, 1 Jul 2003 23:52:37 +0200', 'See you there'), flags: ['\\Seen'], internalDate: new Date('2024-03-05T12:00:00') },
    // 2: flagged, answered, a keyword
    { raw: message('Ann <ann@example.com>', 'joe@example.com', 'Re: Lunch on Friday', 'Wed, 2 Jul 2003 08:00:00 +0000', 'Fine by me', 'X-Mailer: Letterbox\n'), flags: ['\\Flagged', '\\Answered', 'work'], internalDate: new Date('2024-03-06T12:00:00') },
    // 3: deleted draft, larger, with a UTF-8 subject already decoded
    { raw: message('Zoë <zoe@example.com>', 'team@example.com', 'Grüße aus Köln', 'Thu, 3 Jul 2003 10:00:00 -0700', 'Viele Grüße '.repeat(20)), flags: ['\\Deleted', '\\Draft'], internalDate: new Date('2024-03-07T12:00:00') },
  );
  const session = selectedSession(mailbox.open());
  return { mailbox, session };
}

async function search(criteria: string, uid = false): Promise<string> {
  const { session } = setup();
  const r = await run(uid ? uidSearchCommand : searchCommand, session, `a ${uid ? 'UID ' : ''}SEARCH ${criteria}`);
  return r.lines.join(' | ');
}

const table: [string, string][] = [
  ['ALL', '* SEARCH 1 2 3'],
  ['SEEN', '* SEARCH 1'],
  ['UNSEEN', '* SEARCH 2 3'],
  ['ANSWERED', '* SEARCH 2'],
  ['UNANSWERED', '* SEARCH 1 3'],
  ['FLAGGED', '* SEARCH 2'],
  ['UNFLAGGED', '* SEARCH 1 3'],
  ['DELETED', '* SEARCH 3'],
  ['UNDELETED', '* SEARCH 1 2'],
  ['DRAFT', '* SEARCH 3'],
  ['UNDRAFT', '* SEARCH 1 2'],
  ['KEYWORD WORK', '* SEARCH 2'],
  ['UNKEYWORD work', '* SEARCH 1 3'],
  ['RECENT', '* SEARCH'],
  ['NEW', '* SEARCH'],
  ['OLD', '* SEARCH 1 2 3'],
  ['FROM joe', '* SEARCH 1'],
  ['FROM "ANN@example"', '* SEARCH 2'],
  ['TO team', '* SEARCH 3'],
  ['CC carol', '* SEARCH 1 2 3'],
  ['BCC carol', '* SEARCH'],
  ['SUBJECT lunch', '* SEARCH 1 2'],
  ['CHARSET UTF-8 SUBJECT {7+}\r\ngrüße', '* SEARCH 3'],
  ['SUBJECT "KÖLN"', '* SEARCH 3'],
  ['HEADER X-Mailer ""', '* SEARCH 2'],
  ['HEADER x-mailer letter', '* SEARCH 2'],
  ['BODY "fine by"', '* SEARCH 2'],
  ['BODY Friday', '* SEARCH'],
  ['TEXT Friday', '* SEARCH 1 2'],
  ['LARGER 200', '* SEARCH 3'],
  ['SMALLER 200', '* SEARCH 1 2'],
  ['BEFORE 6-Mar-2024', '* SEARCH 1'],
  ['ON 6-Mar-2024', '* SEARCH 2'],
  ['SINCE 6-Mar-2024', '* SEARCH 2 3'],
  ['SENTON 1-Jul-2003', '* SEARCH 1'],
  ['SENTBEFORE 2-Jul-2003', '* SEARCH 1'],
  ['SENTSINCE 2-Jul-2003', '* SEARCH 2 3'],
  ['2:*', '* SEARCH 2 3'],
  ['1:9', '* SEARCH 1 2 3'],
  ['UID 3,1', '* SEARCH 1 3'],
  ['NOT SEEN', '* SEARCH 2 3'],
  ['OR SEEN DRAFT', '* SEARCH 1 3'],
  ['OR FROM joe SUBJECT "köln"', '* SEARCH 1 3'],
  ['(UNSEEN UNDELETED) SUBJECT lunch', '* SEARCH 2'],
  ['NOT (OR FLAGGED SEEN)', '* SEARCH 3'],
  ['MODSEQ 3', '* OK [HIGHESTMODSEQ 4] Highest | * SEARCH 2 3 (MODSEQ 4)'],
  ['MODSEQ 99', '* OK [HIGHESTMODSEQ 4] Highest | * SEARCH'],
  ['RETURN (MIN MAX COUNT ALL) UNSEEN', '* ESEARCH (TAG "a") MIN 2 MAX 3 ALL 2:3 COUNT 2'],
  ['RETURN () ALL', '* ESEARCH (TAG "a") ALL 1:3'],
  ['RETURN (COUNT) BCC nobody', '* ESEARCH (TAG "a") COUNT 0'],
  ['RETURN (MIN) BCC nobody', '* ESEARCH (TAG "a")'],
  ['RETURN (MAX) MODSEQ 2', '* OK [HIGHESTMODSEQ 4] Highest | * ESEARCH (TAG "a") MAX 3 MODSEQ 4'],
  ['CHARSET KOI8-R ALL', 'a NO [BADCHARSET (UTF-8 US-ASCII)] Unknown charset KOI8-R'],
  ['FOO', 'a BAD Unknown search key FOO'],
];

for (const [criteria, expected] of table) {
  t.test(criteria, async (t) => {
    const lines = await search(criteria);
    t.equal(lines.replace(/ \| a OK Search completed$/, ''), expected);
  });
}

t.test('UID SEARCH answers UIDs, ESEARCH with UID', async (t) => {
  const { session, mailbox } = setup();
  mailbox.remove([1]);
  // The expunge is not told during SEARCH, and may be at UID SEARCH.
  t.same((await run(searchCommand, session, 'a SEARCH ALL')).lines, ['* SEARCH 1 2 3', 'a OK Search completed']);
  t.same((await run(uidSearchCommand, session, 'b UID SEARCH UNSEEN')).lines, ['* SEARCH 2 3', '* 1 EXPUNGE', 'b OK Search completed']);
  t.same((await run(uidSearchCommand, session, 'c UID SEARCH RETURN (ALL MIN) 1:*')).lines, ['* ESEARCH (TAG "c") UID MIN 2 ALL 2:3', 'c OK Search completed']);
  t.same((await run(searchCommand, session, 'd SEARCH SUBJECT lunch')).lines, ['* SEARCH 1', 'd OK Search completed']);
});

t.test('flag changes are seen at once; messages are read only for keys that need them', async (t) => {
  const { session, mailbox } = setup();
  await run(storeCommand, session, 'a STORE 3 -FLAGS.SILENT (\\Deleted)');
  t.same((await run(searchCommand, session, 'b SEARCH UNDELETED UNSEEN')).lines, ['* SEARCH 2 3', 'b OK Search completed']);
  t.equal(mailbox.fetchLog.length, 0, 'flags only: no message read');
  await run(searchCommand, session, 'c SEARCH SEEN SUBJECT lunch');
  t.same(mailbox.fetchLog.at(-1), { uids: [1], needs: { index: true, content: true } }, 'only the seen message is read');
  await run(searchCommand, session, 'd SEARCH OR SEEN LARGER 10');
  t.same(mailbox.fetchLog.at(-1), { uids: [2, 3], needs: { index: false, content: false } });
  await run(searchCommand, session, 'e SEARCH SENTON 1-Jul-2003');
  t.same(mailbox.fetchLog.at(-1)?.needs, { index: true, content: false, envelopeOnly: true });
});

t.test('sent dates are the day the sender wrote', async (t) => {
  t.equal(sentDay('Tue, 1 Jul 2003 23:52:37 +0200', null), 20030701);
  t.equal(sentDay('1 Jul 2003 23:52:37 -1200', null), 20030701);
  t.equal(sentDay('Tue, 01 July 03 10:00 GMT', null), 20030701);
  t.equal(sentDay('garbage', new Date('2003-07-02T01:00:00Z')), 20030702);
  t.equal(sentDay(null, null), null);
});
