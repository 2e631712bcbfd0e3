// The IMAP command parser (src/imap/wire/): a table of client scripts, each fed split at every chunk
// size from 1 to 512 bytes, must give the same events as the script fed whole, and the events the
// table names (issue 7, DESIGN.md principle 4). Errors and limits are scripts too: recovery must not
// depend on how the bytes were cut either.
import t from 'tap';
import { dumpEvent, feed, script, type FeedOptions } from '../helpers/imap-wire.js';

interface Case {
  readonly name: string;
  readonly script: Buffer;
  readonly want: readonly string[];
  readonly options?: FeedOptions;
}

/** A literal announcement and its bytes: `{n}CRLF` + data, with n counted here. */
function literal(data: string | Buffer, plus = ''): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return script(`{${bytes.length}${plus}}\r\n`, bytes);
}

const message = script('From: a@example.com\r\nSubject: caf\xe9 \xff\xfe\r\n\r\nLine one\r\n\xe2\x82\xac\r\n');

const commands: Case[] = [
  {
    name: 'LOGIN with quoted strings and escapes',
    script: script('a1 LOGIN "fred" "p\\"a\\\\ss"\r\n'),
    want: ['a1 LOGIN "fred" "p\\"a\\\\ss"'],
  },
  {
    name: 'LOGIN with synchronizing literals',
    script: script('a2 login ', literal('fred'), ' ', literal('se cr"t'), '\r\n'),
    want: ['+ a2 LOGIN 4', '+ a2 LOGIN 7', 'a2 LOGIN {4}"fred" {7}"se cr\\"t"'],
  },
  {
    name: 'LOGIN with an atom and an empty quoted string',
    script: script('a3 LOGIN fred ""\r\n'),
    want: ['a3 LOGIN fred ""'],
  },
  {
    name: 'APPEND with a literal holding CRLFs and 8-bit bytes',
    script: script('A004 APPEND saved-messages (\\Seen) "05-Jan-2024 10:00:00 +0100" ', literal(message), '\r\n'),
    want: [
      `+ A004 APPEND ${message.length}`,
      `A004 APPEND saved-messages (\\Seen) "05-Jan-2024 10:00:00 +0100" {${message.length}}${JSON.stringify(message.toString('latin1'))}`,
    ],
  },
  {
    name: 'UID FETCH with a section, a header list and a partial',
    script: script('a5 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n'),
    want: ['a5 UID FETCH seq:1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)'],
  },
  {
    name: 'FETCH sections: empty, numbered, MIME, BINARY.SIZE',
    script: script('a6 FETCH 7 (BODY[] BODY[1.2.MIME] BINARY.SIZE[1] RFC822.SIZE)\r\n'),
    want: ['a6 FETCH #7 (BODY[] BODY[1.2.MIME] BINARY.SIZE[#1] RFC822.SIZE)'],
  },
  {
    name: 'SEARCH with CHARSET, nested OR/NOT and a UTF-8 literal',
    script: script('a7 SEARCH CHARSET UTF-8 OR (NOT SEEN FROM "bob") NOT (OR SUBJECT ', literal('h\xc3\xa9llo'), ' TO x) SINCE 1-Feb-1994\r\n'),
    want: ['+ a7 SEARCH 6', 'a7 SEARCH CHARSET UTF-8 OR (NOT SEEN FROM "bob") NOT (OR SUBJECT {6}"hÃ©llo" TO x) SINCE 1-Feb-1994'],
  },
  {
    name: 'STORE +FLAGS.SILENT',
    script: script('a8 STORE 2:4 +FLAGS.SILENT (\\Seen \\Deleted $Junk)\r\n'),
    want: ['a8 STORE seq:2:4 +FLAGS.SILENT (\\Seen \\Deleted $Junk)'],
  },
  {
    name: 'sequence sets with $ and *',
    script: script('a9 UID COPY 1,3:5,7:*,$ Trash\r\na10 FETCH $ FLAGS\r\na11 STORE *:4 FLAGS ()\r\na12 FETCH * UID\r\n'),
    want: ['a9 UID COPY seq:1,3:5,7:*,$ Trash', 'a10 FETCH seq:$ FLAGS', 'a11 STORE seq:*:4 FLAGS ()', 'a12 FETCH seq:* UID'],
  },
  {
    name: 'LITERAL+: no continuation requests',
    script: script('a13 LOGIN ', literal('fred', '+'), ' ', literal('secret', '+'), '\r\n'),
    want: ['a13 LOGIN {4}"fred" {6}"secret"'],
  },
  {
    name: 'LITERAL-: a non-synchronizing literal of 4096 octets is taken',
    script: script('a14 APPEND INBOX ', literal(Buffer.alloc(4096, 0x41), '+'), '\r\na15 NOOP\r\n'),
    want: [`a14 APPEND INBOX {4096}${JSON.stringify('A'.repeat(4096))}`, 'a15 NOOP'],
    options: { nonSyncLiterals: 'literal-' },
  },
  {
    name: 'literal8 (BINARY) and NIL in its spellings',
    script: script('a16 APPEND INBOX ~', literal(Buffer.from([0, 1, 0xff]), '+'), '\r\na17 ID NIL\r\na18 X nil (NIL "")\r\n'),
    want: ['a16 APPEND INBOX ~{3}"\\u0000\\u0001ÿ"', 'a17 ID NIL:NIL', 'a18 X NIL:nil (NIL:NIL "")'],
  },
  {
    name: 'a literal inside nested lists, then more arguments',
    script: script('a19 X ((a ', literal('b)c', '+'), ') d) e\r\n'),
    want: ['a19 X ((a {3}"b)c") d) e'],
  },
  {
    name: 'empty literals, synchronizing and not',
    script: script('a20 LOGIN {0}\r\n {0+}\r\n\r\n'),
    want: ['+ a20 LOGIN 0', 'a20 LOGIN {0}"" {0}""'],
  },
  {
    name: 'LIST patterns, mailbox names that read as numbers, tags with ]',
    script: script('a]21 LIST "" *\r\na22 SELECT 007\r\na23 LIST "" %/foo]*\r\n'),
    want: ['a]21 LIST "" seq:*', 'a22 SELECT #007', 'a23 LIST "" %/foo]*'],
  },
  {
    name: 'IDLE and AUTHENTICATE: the next line is raw',
    script: script('a24 IDLE\r\nDONE\r\na25 AUTHENTICATE PLAIN\r\nAGZyZWQAc2VjcmV0\r\na26 NOOP\r\n'),
    want: ['a24 IDLE', 'line "DONE"', 'a25 AUTHENTICATE PLAIN', 'line "AGZyZWQAc2VjcmV0"', 'a26 NOOP'],
  },
  {
    name: 'bare LF, empty lines, a trailing space',
    script: script('\r\n\r\na27 NOOP\na28 CHECK \r\n'),
    want: ['a27 NOOP', 'a28 CHECK'],
  },
  {
    name: 'UID alone and UID with a section atom are left as sent',
    script: script('a29 UID\r\na30 uid expunge 4:7\r\n'),
    want: ['a29 UID', 'a30 UID EXPUNGE seq:4:7'],
  },
];

const errors: Case[] = [
  {
    name: 'garbage without a tag, then a good command',
    script: script('\x00\xff garbage\r\n (\r\na1 NOOP\r\n'),
    want: ['error syntax *: Missing or invalid tag', 'error syntax *: Missing or invalid tag', 'a1 NOOP'],
  },
  {
    name: 'a tag and no command',
    script: script('a2\r\na3 \r\na4 NOOP\r\n'),
    want: ['error syntax a2: Missing command', 'error syntax a3: Missing or invalid command name', 'a4 NOOP'],
  },
  {
    name: 'quoted strings: unterminated, bad escape, bare CR',
    script: script('a5 LOGIN "fred\r\na6 LOGIN "a\\b" x\r\na7 LOGIN "a\rb" x\r\na8 NOOP\r\n'),
    want: [
      'error syntax a5: Unterminated quoted string',
      'error syntax a6: Invalid escape in quoted string',
      'error syntax a7: Invalid character in quoted string',
      'a8 NOOP',
    ],
  },
  {
    name: 'unbalanced brackets and partials',
    script: script('a9 FETCH 1 (FLAGS\r\na10 FETCH 1 FLAGS)\r\na11 FETCH 1 BODY[TEXT\r\na12 FETCH 1 BODY[]<5>\r\na13 NOOP\r\n'),
    want: [
      'error syntax a9: Unclosed "("',
      'error syntax a10: Unexpected ")"',
      'error syntax a11: Unclosed "["',
      'error syntax a12: Invalid partial: expected <offset.length>',
      'a13 NOOP',
    ],
  },
  {
    name: 'spacing and characters outside atoms',
    script: script('a14 NOOP  x\r\na15 SELECT a\xe9b\r\na16 LOGIN x{3}\r\na17 LOGIN {3} x\r\na18 NOOP\r\n'),
    want: [
      'error syntax a14: Unexpected space',
      'error syntax a15: Invalid character in atom',
      'error syntax a16: Expected a space between arguments',
      'error syntax a17: A literal must end the line',
      'a18 NOOP',
    ],
  },
  {
    name: 'a bad line announcing a synchronizing literal: no continuation, next line is a command',
    script: script('a19 LOGIN ) {5}\r\na20 NOOP\r\n'),
    want: ['error syntax a19: Unexpected ")"', 'a20 NOOP'],
  },
  {
    name: 'a bad line announcing a non-synchronizing literal: its bytes are skipped',
    script: script('a21 LOGIN ( ', literal('a20 NOOP\r\n', '+'), ' x\r\na22 NOOP\r\n'),
    want: ['error syntax a21: Unexpected space', 'a22 NOOP'],
  },
  {
    name: 'an error after a literal drops the rest of the command',
    script: script('a23 LOGIN ', literal('fred', '+'), ' "x\r\na24 NOOP\r\n'),
    want: ['error syntax a23: Unterminated quoted string', 'a24 NOOP'],
  },
  {
    name: 'lists nested too deeply',
    script: script('a25 X ', '('.repeat(65), ')'.repeat(65), '\r\na26 X ', '('.repeat(64), ')'.repeat(64), '\r\n'),
    want: ['error syntax a25: Lists nested too deeply', `a26 X ${'('.repeat(64)}${')'.repeat(64)}`],
  },
  {
    name: 'line too long: answered with the tag, the rest thrown away',
    script: script('a27 LOGIN ', 'x'.repeat(200), '\r\na28 NOOP\r\n', 'y'.repeat(300), '\r\na29 NOOP\r\n'),
    want: ['error line-too-long a27: Command line too long', 'a28 NOOP', 'error line-too-long *: Command line too long', 'a29 NOOP'],
    options: { maxLineLength: 64 },
  },
  {
    name: 'line too long ending in a non-synchronizing literal: the literal is skipped',
    script: script('a30 LOGIN ', 'x'.repeat(100), ' ', literal('a31 NOOP\r\n', '+'), '\r\na32 NOOP\r\n'),
    want: ['error line-too-long a30: Command line too long', 'a32 NOOP'],
    options: { maxLineLength: 64 },
  },
  {
    name: 'the line limit counts every line of a command',
    script: script('a33 LOGIN ', literal('x'.repeat(40), '+'), ' ', 'y'.repeat(50), '\r\na34 NOOP\r\n'),
    want: ['error line-too-long a33: Command line too long', 'a34 NOOP'],
    options: { maxLineLength: 64 },
  },
  {
    name: 'a synchronizing literal over the limit: refused, never sent',
    script: script('a35 APPEND INBOX {17}\r\na36 APPEND INBOX ', literal('x'.repeat(16)), '\r\n'),
    want: ['error literal-too-large a35: Literal too large (limit 16 octets)', '+ a36 APPEND 16', `a36 APPEND INBOX {16}"${'x'.repeat(16)}"`],
    options: { maxLiteralSize: 16 },
  },
  {
    name: 'a non-synchronizing literal over the limit: refused and skipped',
    script: script('a37 APPEND INBOX ', literal('a38 NOOP\r\n'.repeat(3), '+'), ' (x)\r\na39 NOOP\r\n'),
    want: ['error literal-too-large a37: Literal too large (limit 16 octets)', 'a39 NOOP'],
    options: { maxLiteralSize: 16, maxSkipSize: 1000 },
  },
  {
    name: 'LITERAL-: a non-synchronizing literal over 4096 octets is refused and skipped',
    script: script('a40 APPEND INBOX ', literal(Buffer.alloc(4097, 0x41), '+'), '\r\na41 NOOP\r\n'),
    want: ['error literal-too-large a40: Non-synchronizing literals are limited to 4096 octets (LITERAL-)', 'a41 NOOP'],
    options: { nonSyncLiterals: 'literal-' },
  },
  {
    name: 'command too large: the second literal is refused',
    script: script('a42 X ', literal('x'.repeat(60), '+'), ' ', literal('y'.repeat(60), '+'), '\r\na43 NOOP\r\n'),
    want: ['error command-too-large a42: Command too large (limit 100 octets)', 'a43 NOOP'],
    options: { maxLiteralSize: 80, maxCommandSize: 100 },
  },
  {
    name: 'a non-synchronizing literal too large to skip: fatal, nothing more is read',
    script: script('a44 APPEND INBOX {5000+}\r\n', 'a45 NOOP\r\n'.repeat(20)),
    want: ['error literal-too-large a44 fatal: Literal too large (limit 100 octets); closing the connection'],
    options: { maxLiteralSize: 100 },
  },
  {
    name: 'a raw line too long',
    script: script('a46 AUTHENTICATE PLAIN\r\n', 'Q'.repeat(100), '\r\na47 NOOP\r\n'),
    want: ['a46 AUTHENTICATE PLAIN', 'error line-too-long *: Command line too long', 'a47 NOOP'],
    options: { maxLineLength: 64 },
  },
];

/** The events of `c` at every chunk size differing from those of the whole script, as messages. */
function chunkSizeDifferences(c: Case, whole: readonly string[]): string[] {
  const differences: string[] = [];
  for (let size = 1; size <= 512; size += 1) {
    const got = feed(c.script, size, c.options).events.map(dumpEvent);
    if (JSON.stringify(got) !== JSON.stringify(whole)) differences.push(`size ${size}: ${JSON.stringify(got)}`);
  }
  return differences;
}

for (const [group, cases] of [['commands', commands], ['errors and limits', errors]] as const) {
  t.test(group, async (t) => {
    for (const c of cases) {
      const whole = feed(c.script, 0, c.options);
      const dump = whole.events.map(dumpEvent);
      t.same(dump, c.want, c.name);
      t.same(chunkSizeDifferences(c, dump), [], `${c.name}: the same at every chunk size from 1 to 512`);
    }
  });
}

t.test('all the command scripts as one pipelined stream', async (t) => {
  const all = commands.filter((c) => !c.options);
  const c: Case = { name: 'pipelined', script: Buffer.concat(all.map((c) => c.script)), want: all.flatMap((c) => c.want) };
  t.same(feed(c.script, 0).events.map(dumpEvent), c.want);
  t.same(chunkSizeDifferences(c, [...c.want]), []);
});
