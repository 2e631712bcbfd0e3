// STORE, UID STORE, and the commands that change the folder (COPY, MOVE, EXPUNGE and their UID forms),
// against a folder in memory: what the client reads, what the folder holds after.
import t from 'tap';
import { copyCommand, uidCopyCommand } from '../../src/imap/commands/copy.js';
import { expungeCommand, uidExpungeCommand } from '../../src/imap/commands/expunge.js';
import { moveCommand, uidMoveCommand } from '../../src/imap/commands/move.js';
import { parseStore, storeCommand, uidStoreCommand } from '../../src/imap/commands/store.js';
import { FakeMailbox, parseCommand, run, selectedSession } from '../helpers/imap-message-context.js';

const MESSAGE = 'From: a@example.com\nSubject: x\n\nbody\n';

function setup(count = 3, enabled: string[] = [], readOnly = false) {
  const mailbox = new FakeMailbox();
  for (let i = 0; i < count; i += 1) mailbox.add({ raw: MESSAGE });
  const session = selectedSession(mailbox.open(readOnly), enabled);
  return { mailbox, session };
}

t.test('parseStore: every form, and what is refused', async (t) => {
  const table: [string, string][] = [
    ['FLAGS (\\Seen \\Deleted)', '{"mode":"set","silent":false,"flags":["\\\\Seen","\\\\Deleted"]}'],
    ['+FLAGS.SILENT (\\seen)', '{"mode":"add","silent":true,"flags":["\\\\Seen"]}'],
    ['-flags \\Flagged $Forwarded', '{"mode":"remove","silent":false,"flags":["\\\\Flagged","$Forwarded"]}'],
    ['FLAGS ()', '{"mode":"set","silent":false,"flags":[]}'],
    ['+FLAGS (work Work)', '{"mode":"add","silent":false,"flags":["work"]}'],
    ['(UNCHANGEDSINCE 12) +FLAGS (\\Seen)', '{"mode":"add","silent":false,"flags":["\\\\Seen"],"unchangedSince":12}'],
    ['(UNCHANGEDSINCE 0) FLAGS.SILENT ()', '{"mode":"set","silent":true,"flags":[],"unchangedSince":0}'],
    ['+FLAGS (\\Recent)', 'Invalid system flag \\RECENT'],
    ['+FLAGS \\Foo', 'Invalid system flag \\FOO'],
    ['+FLAGS (\\*)', 'Invalid flag'],
    ['+FLAGS ("quoted")', 'Invalid flag'],
    ['+FLAGS', 'Missing flags'],
    ['FLAGZ (\\Seen)', 'Invalid STORE data item'],
    ['+FLAGS.LOUD (\\Seen)', 'Invalid STORE data item'],
    ['(UNCHANGEDSINCE x) FLAGS ()', 'Invalid STORE modifiers'],
    ['(FOO 1) FLAGS ()', 'Invalid STORE modifiers'],
  ];
  for (const [line, expected] of table) {
    const parsed = parseStore(parseCommand(`a STORE 1 ${line}`).args.slice(1));
    t.equal('error' in parsed ? parsed.error : JSON.stringify(parsed), expected, line);
  }
});

t.test('+FLAGS, -FLAGS and FLAGS answer the new flags', async (t) => {
  const { session, mailbox } = setup();
  t.same((await run(storeCommand, session, 'a STORE 1:2 +FLAGS (\\Seen work)')).lines, ['* 1 FETCH (FLAGS (\\Seen work))', '* 2 FETCH (FLAGS (\\Seen work))', 'a OK Store completed']);
  t.same((await run(storeCommand, session, 'b STORE 2 -FLAGS work')).lines, ['* 2 FETCH (FLAGS (\\Seen))', 'b OK Store completed']);
  t.same((await run(storeCommand, session, 'c STORE 3 FLAGS (\\Flagged)')).lines, ['* 3 FETCH (FLAGS (\\Flagged))', 'c OK Store completed']);
  t.same(
    mailbox.messages.map((m) => m.flags),
    [['\\Seen', 'work'], ['\\Seen'], ['\\Flagged']],
  );
  t.same((await run(storeCommand, session, 'd STORE 3 +FLAGS (\\Flagged)')).lines, ['d OK Store completed'], 'nothing changed, nothing echoed');
});

t.test('.SILENT echoes nothing, UID STORE answers UID', async (t) => {
  const { session } = setup();
  t.same((await run(storeCommand, session, 'a STORE 1 +FLAGS.SILENT (\\Seen)')).lines, ['a OK Store completed']);
  t.same((await run(uidStoreCommand, session, 'b UID STORE 2,3 +FLAGS (\\Answered)')).lines, ['* 2 FETCH (FLAGS (\\Answered) UID 2)', '* 3 FETCH (FLAGS (\\Answered) UID 3)', 'b OK Store completed']);
  t.same((await run(uidStoreCommand, session, 'c UID STORE 9 +FLAGS (\\Answered)')).lines, ['c OK Store completed'], 'UIDs not there are ignored');
});

t.test('bad flags and sets are BAD; EXAMINE changes nothing', async (t) => {
  const { session } = setup();
  t.same((await run(storeCommand, session, 'a STORE 1 +FLAGS (\\Recent)')).lines, ['a BAD Invalid system flag \\RECENT']);
  t.same((await run(storeCommand, session, 'b STORE 7 +FLAGS (\\Seen)')).lines, ['b BAD Invalid messageset']);
  const examined = setup(3, [], true);
  t.same((await run(storeCommand, examined.session, 'c STORE 1 +FLAGS (\\Seen)')).lines, ['c OK Store ignored with read-only mailbox']);
  t.same(examined.mailbox.messages[0]?.flags, []);
});

t.test('UNCHANGEDSINCE: MODIFIED with sequence numbers, or UIDs for UID STORE (RFC 7162 3.1.3)', async (t) => {
  const { session, mailbox } = setup(3);
  // Message modseqs are 2, 3, 4.
  const r = await run(storeCommand, session, 'a STORE 1:3 (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Seen)');
  t.same(r.lines, ['* OK [HIGHESTMODSEQ 4] Highest', '* 1 FETCH (UID 1 MODSEQ (5))', '* 2 FETCH (UID 2 MODSEQ (6))', 'a OK [MODIFIED 3] Conditional store failed']);
  t.same(
    mailbox.messages.map((m) => m.flags),
    [['\\Seen'], ['\\Seen'], []],
  );
  const u = await run(uidStoreCommand, session, 'b UID STORE 1:3 (UNCHANGEDSINCE 4) FLAGS (\\Draft)');
  t.same(u.lines, ['* 3 FETCH (FLAGS (\\Draft) UID 3 MODSEQ (7))', 'b OK [MODIFIED 1:2] Conditional store failed']);
});

t.test('COPY answers COPYUID; TRYCREATE for a folder that is not there', async (t) => {
  const { session, mailbox } = setup(4);
  t.same((await run(copyCommand, session, 'a COPY 2:4 Archive')).lines, ['a OK [COPYUID 777 2:4 100:102] Copy completed']);
  t.same((await run(uidCopyCommand, session, 'b UID COPY 1,3 Archive')).lines, ['b OK [COPYUID 777 1,3 103:104] Copy completed']);
  t.same((await run(uidCopyCommand, session, 'c UID COPY 50 Archive')).lines, ['c OK No messages found']);
  t.same((await run(copyCommand, session, 'd COPY 1 Nowhere')).lines, ['d NO [TRYCREATE] No such folder']);
  t.same((await run(copyCommand, session, 'e COPY 9 Archive')).lines, ['e BAD Invalid messageset']);
  t.equal(mailbox.copies.length, 2);
  t.equal(mailbox.messages.length, 4, 'COPY leaves the source');
});

t.test('MOVE: untagged COPYUID, then EXPUNGE highest first, then OK (RFC 6851 3.3)', async (t) => {
  const { session, mailbox } = setup(4);
  const r = await run(moveCommand, session, 'a MOVE 2:3 Trash');
  t.same(r.lines, ['* OK [COPYUID 777 2:3 100:101] Moved UIDs.', '* 3 EXPUNGE', '* 2 EXPUNGE', 'a OK Move completed']);
  t.same(
    mailbox.messages.map((m) => m.uid),
    [1, 4],
  );
  t.equal(session.selected.exists, 2);
  const u = await run(uidMoveCommand, session, 'b UID MOVE 4 Trash');
  t.same(u.lines, ['* OK [COPYUID 777 4 102] Moved UIDs.', '* 2 EXPUNGE', 'b OK Move completed']);
});

t.test('MOVE under QRESYNC tells VANISHED', async (t) => {
  const { session } = setup(3, ['QRESYNC', 'CONDSTORE']);
  const r = await run(uidMoveCommand, session, 'a UID MOVE 1:2 Trash');
  t.same(r.lines, ['* OK [COPYUID 777 1:2 100:101] Moved UIDs.', '* VANISHED 1:2', 'a OK Move completed']);
});

t.test('MOVE in an EXAMINEd folder is refused', async (t) => {
  const { session, mailbox } = setup(2, [], true);
  t.same((await run(moveCommand, session, 'a MOVE 1 Trash')).lines, ['a NO [READ-ONLY] Mailbox is read-only']);
  t.equal(mailbox.messages.length, 2);
});

t.test('EXPUNGE removes every \\Deleted message; UID EXPUNGE only those of its set', async (t) => {
  const { session, mailbox } = setup(5);
  await run(storeCommand, session, 'a STORE 1,2,4,5 +FLAGS.SILENT (\\Deleted)');
  t.same((await run(uidExpungeCommand, session, 'b UID EXPUNGE 4:5')).lines, ['* 5 EXPUNGE', '* 4 EXPUNGE', 'b OK Expunge completed']);
  t.same((await run(expungeCommand, session, 'c EXPUNGE')).lines, ['* 2 EXPUNGE', '* 1 EXPUNGE', 'c OK Expunge completed']);
  t.same(
    mailbox.messages.map((m) => m.uid),
    [3],
  );
  t.same((await run(expungeCommand, session, 'd EXPUNGE 1')).lines, ['d BAD EXPUNGE takes no arguments']);
  t.same((await run(uidExpungeCommand, session, 'e UID EXPUNGE')).lines, ['e BAD UID EXPUNGE takes one UID set']);
});

t.test('an expunge by another session waits for a command that may tell it', async (t) => {
  const { mailbox, session } = setup(3);
  const other = selectedSession(mailbox.open());
  await run(storeCommand, other, 'a STORE 2 +FLAGS.SILENT (\\Deleted)');
  await run(expungeCommand, other, 'b EXPUNGE');
  // RFC 3501 7.4.1: not during STORE or FETCH (the other session's flag change is told)...
  const store = await run(storeCommand, session, 'c STORE 3 +FLAGS (\\Seen)');
  t.same(store.lines, ['* 2 FETCH (FLAGS (\\Deleted))', '* 3 FETCH (FLAGS (\\Seen))', 'c OK Store completed']);
  // ...but at EXPUNGE.
  t.same((await run(expungeCommand, session, 'd EXPUNGE')).lines, ['* 2 EXPUNGE', 'd OK Expunge completed']);
});
