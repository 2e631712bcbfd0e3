// FETCH and UID FETCH run against a folder in memory: the lines the client reads.
import t from 'tap';
import { fetchCommand, uidFetchCommand } from '../../src/imap/commands/fetch.js';
import { formatInternalDate } from '../../src/imap/fetch/render.js';
import { FakeMailbox, run, selectedSession } from '../helpers/imap-message-context.js';

const MESSAGE = 'From: Joe <joe@example.com>\nTo: Ann <ann@example.com>\nSubject: Hello\nDate: Tue, 1 Jul 2003 23:52:37 +0200\n\nHello there\n';

function setup(enabled: string[] = [], readOnly = false) {
  const mailbox = new FakeMailbox().add({ raw: MESSAGE }, { raw: MESSAGE, flags: ['\\Seen'] }, { raw: MESSAGE.replace('Hello there', 'Third') });
  const session = selectedSession(mailbox.open(readOnly), enabled);
  return { mailbox, session };
}

t.test('flags, size, uid and the internal date', async (t) => {
  const { session } = setup();
  const r = await run(fetchCommand, session, 'a FETCH 1:2 (FLAGS RFC822.SIZE UID INTERNALDATE)');
  const date = formatInternalDate(new Date('2024-03-05T10:00:00Z'));
  t.same(r.lines, [
    `* 1 FETCH (FLAGS () RFC822.SIZE 125 UID 1 INTERNALDATE "${date}")`,
    `* 2 FETCH (FLAGS (\\Seen) RFC822.SIZE 125 UID 2 INTERNALDATE "${date}")`,
    'a OK Fetch completed',
  ]);
});

t.test('INTERNALDATE is RFC 3501 date-time with the zone', async (t) => {
  t.match(formatInternalDate(new Date('2003-07-01T08:02:03Z')), /^\d\d-Jul-2003 \d\d:\d\d:03 [+-]\d{4}$/);
});

t.test('UID FETCH always answers UID, first', async (t) => {
  const { session } = setup();
  const r = await run(uidFetchCommand, session, 'a UID FETCH 2:* FLAGS');
  t.same(r.lines, ['* 2 FETCH (UID 2 FLAGS (\\Seen))', '* 3 FETCH (UID 3 FLAGS ())', 'a OK Fetch completed']);
  const none = await run(uidFetchCommand, session, 'b UID FETCH 50:60 FLAGS');
  // RFC 3501 6.4.8: UIDs that are not there are ignored.
  t.same(none.lines, ['b OK Fetch completed']);
});

t.test('sequence numbers beyond the folder are BAD, as Dovecot answers', async (t) => {
  const { session } = setup();
  t.same((await run(fetchCommand, session, 'a FETCH 4 FLAGS')).lines, ['a BAD Invalid messageset']);
  t.same((await run(fetchCommand, session, 'a FETCH 1:9 FLAGS')).lines, ['a BAD Invalid messageset']);
  t.same((await run(fetchCommand, session, 'a FETCH 3,1 FLAGS')).lines, ['* 1 FETCH (FLAGS ())', '* 3 FETCH (FLAGS ())', 'a OK Fetch completed']);
  t.same((await run(fetchCommand, session, 'a FETCH * UID')).lines, ['* 3 FETCH (UID 3)', 'a OK Fetch completed']);
});

t.test('body sections, partials and header fields', async (t) => {
  const { session } = setup();
  const r = await run(fetchCommand, session, 'a FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject "To")] BODY.PEEK[TEXT]<2.3> BODY.PEEK[]<500.3>)');
  t.same(r.lines, [
    '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT "TO")] {45}\r\nTo: Ann <ann@example.com>\r\nSubject: Hello\r\n\r\n BODY[TEXT]<2> "llo" BODY[]<500> "")',
    'a OK Fetch completed',
  ]);
});

t.test('a body fetch without PEEK sets \\Seen and answers FLAGS with it', async (t) => {
  const { session, mailbox } = setup();
  const r = await run(fetchCommand, session, 'a FETCH 1:2 BODY[TEXT]');
  t.same(r.lines, ['* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] {13}\r\nHello there\r\n)', '* 2 FETCH (BODY[TEXT] {13}\r\nHello there\r\n)', 'a OK Fetch completed']);
  t.same(mailbox.messages[0]?.flags, ['\\Seen']);
  // The session knows it now: no echo later.
  const again = await run(fetchCommand, session, 'b FETCH 1 FLAGS');
  t.same(again.lines, ['* 1 FETCH (FLAGS (\\Seen))', 'b OK Fetch completed']);
});

t.test('RFC822 sets \\Seen, RFC822.HEADER does not', async (t) => {
  const { session, mailbox } = setup();
  const header = await run(fetchCommand, session, 'a FETCH 1 RFC822.HEADER');
  t.match(header.lines[0], /^\* 1 FETCH \(RFC822\.HEADER \{112\}\r\nFrom: Joe/);
  t.same(mailbox.messages[0]?.flags, []);
  const whole = await run(fetchCommand, session, 'b FETCH 1 RFC822');
  t.match(whole.lines[0], /^\* 1 FETCH \(FLAGS \(\\Seen\) RFC822 \{125\}\r\n/);
});

t.test('EXAMINE: nothing is marked seen', async (t) => {
  const { session, mailbox } = setup([], true);
  const r = await run(fetchCommand, session, 'a FETCH 1 BODY[]');
  t.match(r.lines[0], /^\* 1 FETCH \(BODY\[\] \{125\}/);
  t.same(mailbox.messages[0]?.flags, []);
});

t.test('under CONDSTORE the own \\Seen is echoed as its MODSEQ only', async (t) => {
  const { session } = setup(['CONDSTORE']);
  const r = await run(fetchCommand, session, 'a FETCH 1 BODY[TEXT]');
  t.equal(r.lines.length, 3);
  t.match(r.lines[1], /^\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)$/);
});

t.test('ENVELOPE, BODY and BODYSTRUCTURE come from the backend', async (t) => {
  const { session } = setup();
  const r = await run(fetchCommand, session, 'a FETCH 1 (ENVELOPE BODY BODYSTRUCTURE)');
  t.same(r.lines[0], '* 1 FETCH (ENVELOPE ("Tue, 1 Jul 2003 23:52:37 +0200" "Hello" NIL NIL NIL NIL NIL NIL NIL NIL) BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 1) BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 1 NIL NIL NIL NIL))');
});

t.test('the backend is asked only for what the items need', async (t) => {
  const { session, mailbox } = setup();
  await run(uidFetchCommand, session, 'a UID FETCH 1:* (FLAGS RFC822.SIZE)');
  await run(uidFetchCommand, session, 'b UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)');
  await run(uidFetchCommand, session, 'c UID FETCH 1 BODY.PEEK[1]');
  await run(uidFetchCommand, session, 'd UID FETCH 1 (ENVELOPE BODYSTRUCTURE)');
  t.same(
    mailbox.fetchLog.map((f) => f.needs),
    [
      { index: false, content: false },
      { index: true, content: false, envelopeOnly: true },
      { index: true, content: true },
      { index: true, content: false },
    ],
  );
});

t.test('BINARY: decoded content, literal8 for NUL, UNKNOWN-CTE, BINARY.SIZE', async (t) => {
  const nul = Buffer.from('From: a@b\r\nContent-Transfer-Encoding: base64\r\n\r\n' + Buffer.from('a\0b').toString('base64') + '\r\n');
  const mailbox = new FakeMailbox().add({ raw: nul }, { raw: 'Content-Transfer-Encoding: x-unknown\n\nzzz\n' });
  const session = selectedSession(mailbox.open());
  const r = await run(fetchCommand, session, 'a FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1]<1.5>)');
  t.same(r.lines[0], '* 1 FETCH (BINARY[1] ~{3}\r\na\0b BINARY.SIZE[1] 3 BINARY[1]<1> ~{2}\r\n\0b)');
  const bad = await run(fetchCommand, session, 'b FETCH 2 BINARY.PEEK[1]');
  t.same(bad.tagged, 'b NO [UNKNOWN-CTE] Unknown transfer encoding');
});

t.test('BODY[] and RFC822 never carry NUL: a stored NUL is sent as 0x80, the size unchanged (RFC 3501 9 CHAR8)', async (t) => {
  const raw = Buffer.from('From: a@b\r\nContent-Transfer-Encoding: binary\r\n\r\na\0b\r\n', 'latin1');
  const mailbox = new FakeMailbox().add({ raw });
  const session = selectedSession(mailbox.open());
  const r = await run(fetchCommand, session, 'a FETCH 1 (BODY.PEEK[TEXT] BINARY.PEEK[1])');
  // The recorder reads responses as UTF-8, where the lone 0x80 shows as U+FFFD.
  t.same(r.lines[0], '* 1 FETCH (BODY[TEXT] {5}\r\na\ufffdb\r\n BINARY[1] ~{5}\r\na\0b\r\n)');
});

t.test('MODSEQ enables CONDSTORE and tells HIGHESTMODSEQ the first time', async (t) => {
  const { session } = setup();
  const r = await run(fetchCommand, session, 'a FETCH 1 (MODSEQ)');
  t.same(r.lines, ['* OK [HIGHESTMODSEQ 4] Highest', '* 1 FETCH (MODSEQ (2))', 'a OK Fetch completed']);
  t.ok(session.enabled.has('CONDSTORE'));
  const again = await run(fetchCommand, session, 'b FETCH 2 MODSEQ');
  t.same(again.lines, ['* 2 FETCH (MODSEQ (3))', 'b OK Fetch completed']);
});

t.test('CHANGEDSINCE: only messages changed since, with MODSEQ', async (t) => {
  const { session } = setup(['CONDSTORE']);
  const r = await run(uidFetchCommand, session, 'a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 2)');
  t.same(r.lines, ['* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (3))', '* 3 FETCH (UID 3 FLAGS () MODSEQ (4))', 'a OK Fetch completed']);
});

t.test('VANISHED (EARLIER) under QRESYNC, for the UIDs of the set', async (t) => {
  const mailbox = new FakeMailbox().add({ raw: MESSAGE }, { raw: MESSAGE }, { raw: MESSAGE }, { raw: MESSAGE });
  mailbox.remove([1, 3]);
  const session = selectedSession(mailbox.open(), ['QRESYNC', 'CONDSTORE']);
  const r = await run(uidFetchCommand, session, 'a UID FETCH 2:* (FLAGS) (CHANGEDSINCE 1 VANISHED)');
  t.same(r.lines, ['* VANISHED (EARLIER) 3', '* 1 FETCH (UID 2 FLAGS () MODSEQ (3))', '* 2 FETCH (UID 4 FLAGS () MODSEQ (5))', 'a OK Fetch completed']);
  const later = await run(uidFetchCommand, session, 'd UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)');
  t.same(later.lines, ['* VANISHED (EARLIER) 1,3', '* 2 FETCH (UID 4 FLAGS () MODSEQ (5))', 'd OK Fetch completed']);
  const refused = await run(fetchCommand, session, 'b FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)');
  t.match(refused.tagged, /^b BAD /);
  const plain = selectedSession(mailbox.open(), ['CONDSTORE']);
  t.match((await run(uidFetchCommand, plain, 'c UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)')).tagged, /^c BAD /);
});

t.test('a message expunged by another session: OK [EXPUNGEISSUED], no EXPUNGE during FETCH', async (t) => {
  const { session, mailbox } = setup();
  mailbox.remove([2]);
  const r = await run(fetchCommand, session, 'a FETCH 1:3 UID');
  t.same(r.lines, ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)', 'a OK [EXPUNGEISSUED] Some messages were already expunged']);
  const uid = await run(uidFetchCommand, session, 'b UID FETCH 1:* UID');
  t.same(uid.lines, ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)', '* 2 EXPUNGE', 'b OK Fetch completed']);
});

t.test('10,000 messages stream one response each', async (t) => {
  const mailbox = new FakeMailbox();
  for (let i = 0; i < 10_000; i += 1) mailbox.add({ raw: MESSAGE });
  const session = selectedSession(mailbox.open());
  const r = await run(uidFetchCommand, session, 'a UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)');
  t.equal(r.lines.length, 10_001);
  t.equal(r.lines[9999], '* 10000 FETCH (UID 10000 FLAGS () RFC822.SIZE 125 ENVELOPE ("Tue, 1 Jul 2003 23:52:37 +0200" "Hello" NIL NIL NIL NIL NIL NIL NIL NIL))');
});
