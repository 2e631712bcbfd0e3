// SEARCH criteria as typed (RFC 3501 6.4.4, RFC 4731, RFC 7162 3.1.5): a table of command lines and
// the tree they read as, or the answer they get.
import t from 'tap';
import { MAX_DEPTH, parseSearchDate, type SearchKey } from '../../src/imap/search/keys.js';
import { parseSearch } from '../../src/imap/search/request.js';
import { formatSequenceSet } from '../../src/imap/wire/sequence-set.js';
import { parseCommand } from '../helpers/imap-message-context.js';

function show(key: SearchKey): string {
  switch (key.kind) {
    case 'all':
      return 'ALL';
    case 'flag':
      return `${key.has ? '' : '!'}${key.flag}`;
    case 'larger':
    case 'smaller':
      return `${key.kind}:${key.size}`;
    case 'date':
      return `${key.field}-${key.op}:${key.day}`;
    case 'header':
      return `${key.field}~${JSON.stringify(key.text)}`;
    case 'text':
      return `${key.scope}~${JSON.stringify(key.text)}`;
    case 'seq':
      return `seq:${formatSequenceSet(key.set)}`;
    case 'uid':
      return `uid:${formatSequenceSet(key.set)}`;
    case 'modseq':
      return `modseq>=${key.modseq}`;
    case 'not':
      return `not(${show(key.key)})`;
    case 'or':
      return `or(${show(key.left)}, ${show(key.right)})`;
    case 'and':
      return `and(${key.keys.map(show).join(', ')})`;
  }
}

function parse(criteria: string): string {
  const request = parseSearch(parseCommand(`a SEARCH ${criteria}`).args);
  if ('error' in request) return `${request.error === 'charset' ? 'NO' : 'BAD'} ${request.text}`;
  const returns = request.returns ? `RETURN(${[...request.returns].join(' ')}) ` : '';
  return returns + show(request.key);
}

const table: [string, string][] = [
  ['ALL', 'ALL'],
  ['answered deleted draft flagged recent seen', 'and(\\Answered, \\Deleted, \\Draft, \\Flagged, \\Recent, \\Seen)'],
  ['UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN OLD', 'and(!\\Answered, !\\Deleted, !\\Draft, !\\Flagged, !\\Seen, !\\Recent)'],
  ['NEW', 'and(\\Recent, !\\Seen)'],
  ['KEYWORD $Forwarded UNKEYWORD work', 'and($Forwarded, !work)'],
  ['FROM joe TO "Ann B" CC x BCC y SUBJECT {5+}\r\nhello', 'and(From~"joe", To~"Ann B", Cc~"x", Bcc~"y", Subject~"hello")'],
  ['HEADER X-Mailer ""', 'X-Mailer~""'],
  ['HEADER "List-Id" lists', 'List-Id~"lists"'],
  ['BODY "fünf" TEXT 123', 'and(body~"fünf", text~"123")'],
  ['LARGER 1000 SMALLER 5', 'and(larger:1000, smaller:5)'],
  ['BEFORE 1-Feb-1994 ON "05-Mar-2024" SINCE 31-dec-1999', 'and(internal-before:19940201, internal-on:20240305, internal-since:19991231)'],
  ['SENTBEFORE 1-Feb-1994 SENTON 2-Feb-1994 SENTSINCE 3-Feb-1994', 'and(sent-before:19940201, sent-on:19940202, sent-since:19940203)'],
  ['1:3,5 UID 10:*', 'and(seq:1:3,5, uid:10:*)'],
  ['7', 'seq:7'],
  ['UID 42', 'uid:42'],
  ['NOT SEEN', 'not(\\Seen)'],
  ['OR SEEN FLAGGED', 'or(\\Seen, \\Flagged)'],
  ['OR (SEEN FLAGGED) NOT (FROM a)', 'or(and(\\Seen, \\Flagged), not(From~"a"))'],
  ['(((ALL)))', 'ALL'],
  ['MODSEQ 5', 'modseq>=5'],
  ['MODSEQ "/flags/\\\\draft" all 620162338', 'modseq>=620162338'],
  ['CHARSET UTF-8 SUBJECT x', 'Subject~"x"'],
  ['CHARSET us-ascii ALL', 'ALL'],
  ['RETURN (MIN MAX) ALL', 'RETURN(MIN MAX) ALL'],
  ['RETURN () CHARSET UTF-8 SEEN', 'RETURN(ALL) \\Seen'],
  ['RETURN (COUNT ALL) UID 1:*', 'RETURN(COUNT ALL) uid:1:*'],
  ['CHARSET ISO-8859-9 ALL', 'NO Unknown charset ISO-8859-9'],
  ['RETURN (SAVE) ALL', 'BAD Unknown SEARCH return option'],
  ['RETURN ALL', 'BAD RETURN needs a list of options'],
  ['FOO', 'BAD Unknown search key FOO'],
  ['', 'BAD Missing search criteria'],
  ['()', 'BAD Empty search key list'],
  ['OR SEEN', 'BAD Missing search key'],
  ['NOT', 'BAD Missing search key'],
  ['SUBJECT', 'BAD Missing search string'],
  ['SUBJECT (x)', 'BAD Missing search string'],
  ['LARGER abc', 'BAD Invalid search size'],
  ['LARGER 99999999999999999999', 'BAD Invalid search size'],
  ['SINCE 1-jul-03', 'BAD Invalid search date'],
  ['SINCE 1-Foo-2003', 'BAD Invalid search date'],
  ['SINCE 32-Jan-2003', 'BAD Invalid search date'],
  ['UID abc', 'BAD Invalid UID set'],
  ['0', 'BAD Invalid message number'],
  ['KEYWORD "x"', 'BAD Invalid keyword'],
  ['HEADER "Bad:Name" x', 'BAD Invalid header field name'],
  ['MODSEQ "/flags/x" nope 5', 'BAD Invalid MODSEQ entry type'],
  ['MODSEQ', 'BAD Invalid MODSEQ value'],
  ['BODY[TEXT]', 'BAD Invalid search key'],
];

for (const [criteria, expected] of table) {
  t.equal(parse(criteria), expected, criteria);
}

t.test('NOT chains deeper than the bound are BAD, not a stack overflow', async (t) => {
  t.equal(parse(`${'NOT '.repeat(MAX_DEPTH + 5)}SEEN`), 'BAD Search criteria nested too deeply');
  t.equal(parse(`${'NOT '.repeat(MAX_DEPTH - 1)}SEEN`).startsWith('not('), true);
  t.equal(parse(`${'OR SEEN '.repeat(500)}SEEN`), 'BAD Search criteria nested too deeply');
});

t.test('dates', async (t) => {
  t.equal(parseSearchDate({ kind: 'atom', text: '1-Feb-1994' }), 19940201);
  t.equal(parseSearchDate({ kind: 'string', value: Buffer.from('01-FEB-1994'), form: 'quoted' }), 19940201);
  t.equal(parseSearchDate({ kind: 'atom', text: '1-Feb-94' }), null);
  t.equal(parseSearchDate(undefined), null);
});
