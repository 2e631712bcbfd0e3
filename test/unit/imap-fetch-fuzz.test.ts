// Nothing a client sends may crash the server (issue 7): random arguments, made of the words these
// commands know and of junk, fed to FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE and their UID forms on a
// folder in memory. Every command must answer exactly once (run() checks) and throw nothing.
import fc from 'fast-check';
import t from 'tap';
import { copyCommand, uidCopyCommand } from '../../src/imap/commands/copy.js';
import { expungeCommand, uidExpungeCommand } from '../../src/imap/commands/expunge.js';
import { fetchCommand, uidFetchCommand } from '../../src/imap/commands/fetch.js';
import { moveCommand, uidMoveCommand } from '../../src/imap/commands/move.js';
import { searchCommand, uidSearchCommand } from '../../src/imap/commands/search.js';
import { storeCommand, uidStoreCommand } from '../../src/imap/commands/store.js';
import type { CommandSpec } from '../../src/imap/command.js';
import { CommandParser } from '../../src/imap/wire/command-parser.js';
import { FakeMailbox, run, selectedSession } from '../helpers/imap-message-context.js';

const WORDS = [
  'ALL', 'FAST', 'FULL', 'FLAGS', 'UID', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'INTERNALDATE', 'RFC822', 'RFC822.SIZE',
  'RFC822.HEADER', 'RFC822.TEXT', 'MODSEQ', 'BODY[]', 'BODY.PEEK[HEADER]', 'BODY[TEXT]<0.5>', 'BODY[1.MIME]',
  'BODY[HEADER.FIELDS (From To)]', 'BINARY[1]', 'BINARY.PEEK[]', 'BINARY.SIZE[1]', 'BODY[0]', 'BODY[1.2.3.HEADER]',
  'CHANGEDSINCE', 'VANISHED', 'UNCHANGEDSINCE', '+FLAGS', '-FLAGS.SILENT', 'FLAGS.SILENT', '\\Seen', '\\Deleted',
  '\\Recent', '\\Bogus', '$Junk', 'work', 'NOT', 'OR', 'SEEN', 'UNSEEN', 'NEW', 'OLD', 'KEYWORD', 'FROM', 'TO', 'SUBJECT',
  'HEADER', 'BODY', 'TEXT', 'LARGER', 'SMALLER', 'SINCE', 'BEFORE', 'ON', 'SENTON', '1-Jan-2024', '31-Feb-2003',
  'CHARSET', 'UTF-8', 'KOI8-R', 'RETURN', 'MIN', 'MAX', 'COUNT', 'Archive', 'Nowhere', 'INBOX', '1', '2', '3', '0', '*',
  '1:*', '2:1', '$', '4294967295', '99999999999999999999', '"quoted"', '""', '{3+}\r\nabc', 'NIL', '()', '(', ')',
];

const argument = fc.oneof(fc.constantFrom(...WORDS), fc.stringMatching(/^[A-Za-z0-9.\\$:*,-]{1,8}$/));
const argumentLine = fc.array(argument, { maxLength: 10 }).map((words) => words.join(' '));

const COMMANDS: [string, CommandSpec][] = [
  ['FETCH', fetchCommand],
  ['UID FETCH', uidFetchCommand],
  ['STORE', storeCommand],
  ['UID STORE', uidStoreCommand],
  ['SEARCH', searchCommand],
  ['UID SEARCH', uidSearchCommand],
  ['COPY', copyCommand],
  ['UID COPY', uidCopyCommand],
  ['MOVE', moveCommand],
  ['UID MOVE', uidMoveCommand],
  ['EXPUNGE', expungeCommand],
  ['UID EXPUNGE', uidExpungeCommand],
];

/** Whether the wire parser takes the line as one command (lines it refuses never reach a handler). */
function parses(line: string): boolean {
  const events = new CommandParser().push(Buffer.from(`${line}\r\n`, 'utf8'));
  return events.length === 1 && events[0]?.kind === 'command';
}

const MESSAGE = 'From: a@example.com\nSubject: hi\nDate: Tue, 1 Jul 2003 10:00:00 +0000\n\nbody\n';

t.test('random arguments never crash a message command', async (t) => {
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...COMMANDS), argumentLine, fc.boolean(), fc.constantFrom([], ['CONDSTORE'], ['QRESYNC', 'CONDSTORE']), async ([name, spec], args, readOnly, enabled) => {
      const line = `a ${name} ${args}`.trimEnd();
      if (!parses(line)) return;
      const mailbox = new FakeMailbox().add({ raw: MESSAGE }, { raw: MESSAGE, flags: ['\\Seen'] }, { raw: MESSAGE, flags: ['\\Deleted'] });
      const session = selectedSession(mailbox.open(readOnly), [...enabled]);
      const result = await run(spec, session, line);
      ran += 1;
      return /^a (OK|NO|BAD)( |$)/.test(result.tagged);
    }),
    { numRuns: 3000 },
  );
  t.ok(ran > 1000, `${ran} commands ran`);
});
