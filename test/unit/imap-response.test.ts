// The test helper that reads IMAP server responses (test/helpers/imap-response.ts), on which the
// comparison with Dovecot rests: framing with literals and literal8, nesting, quoted escapes, and the
// normalisation of what RFC 3501 leaves free (quoted or literal, atom case, FETCH item order).
import t from 'tap';
import {
  fetchItem, normaliseResponse, nulOutsideLiteral8, parseResponse, responseLength, showResponse, showValue, splitResponses,
  type ResponseValue,
} from '../helpers/imap-response.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const parse = (text: string) => parseResponse(bytes(text));
const show = (text: string) => showResponse(parse(text));
const normalised = (text: string) => normaliseResponse(parse(text)).map(showValue).join(' ');

t.test('framing: a line, and the literals it announces', async (t) => {
  t.equal(responseLength(bytes('* OK ready')), 0, 'no CRLF yet');
  t.equal(responseLength(bytes('* OK ready\r\n* 1 EXISTS\r\n')), 12, 'one line');
  t.equal(responseLength(bytes('* 1 FETCH (BODY[] {5}\r\nab\r')), 0, 'literal not complete');
  const one = '* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\n';
  t.equal(responseLength(bytes(`${one}a1 OK\r\n`)), one.length, 'the literal may hold CRLF');
  const two = '* 1 FETCH (BODY[1] {2}\r\nxy BODY[2] ~{3}\r\n\0\r\n)\r\n';
  t.equal(responseLength(bytes(two)), two.length, 'two literals, the second a literal8');
  t.equal(responseLength(bytes('* 1 FETCH (BODY[] {0}\r\n)\r\n')), '* 1 FETCH (BODY[] {0}\r\n)\r\n'.length, 'an empty literal');
  t.equal(responseLength(bytes('* OK the text is about {braces}\r\n')), '* OK the text is about {braces}\r\n'.length, 'braces that are no literal');
});

t.test('splitting a stream that arrives in pieces', async (t) => {
  const stream = '* 1 FETCH (BODY[] {3}\r\nabc)\r\n* 2 EXPUNGE\r\na1 OK done\r\n';
  const collected: string[] = [];
  let pending: Buffer = Buffer.alloc(0);
  for (let at = 0; at < stream.length; at += 4) {
    const { responses, rest } = splitResponses(Buffer.concat([pending, bytes(stream.slice(at, at + 4))]));
    collected.push(...responses.map(showResponse));
    pending = rest;
  }
  t.same(collected, ['* 1 FETCH (BODY[] "abc")', '* 2 EXPUNGE', 'a1 OK']);
  t.equal(pending.length, 0);
});

t.test('status responses: tag, status, code and text', async (t) => {
  const tagged = parse('a7 ok [APPENDUID 38505 3955] APPEND completed\r\n');
  t.equal(tagged.tag, 'a7');
  t.equal(tagged.status, 'OK');
  t.same(tagged.code, { name: 'APPENDUID', text: '38505 3955' });
  t.equal(tagged.text, 'APPEND completed');
  t.same(parse('* NO [UNKNOWN-CTE] cannot decode\r\n').code, { name: 'UNKNOWN-CTE', text: '' });
  t.same(parse('a2 NO failed\r\n').code, undefined);
  const more = parse('+ go ahead\r\n');
  t.equal(more.tag, '+');
  t.equal(more.text, 'go ahead');
});

t.test('quoted strings: escapes undone, bytes kept', async (t) => {
  const response = parse('* 1 FETCH (ENVELOPE ("a \\"quoted\\" word" "back\\\\slash" "" "caf\xe9"))\r\n');
  const envelope = fetchItem(response, 'envelope');
  t.equal(envelope?.kind, 'list');
  const strings = (envelope as { items: ResponseValue[] }).items.map((v) => (v.kind === 'string' ? v.bytes.toString('latin1') : '?'));
  t.same(strings, ['a "quoted" word', 'back\\slash', '', 'caf\xe9']);
  t.equal(showValue(envelope as ResponseValue), '("a \\"quoted\\" word" "back\\\\slash" "" "café")');
});

t.test('literals and literal8: the announced bytes exactly, whatever they hold', async (t) => {
  const response = parse('* 1 FETCH (BODY[1] {7}\r\n) "x\r\n( BINARY[2] ~{3}\r\na\0b UID 4)\r\n');
  const body = fetchItem(response, 'BODY[1]');
  t.same(body?.kind === 'string' && [body.bytes.toString('latin1'), body.form], [') "x\r\n(', 'literal']);
  const binary = fetchItem(response, 'binary[2]');
  t.same(binary?.kind === 'string' && [binary.bytes.toString('latin1'), binary.form], ['a\0b', 'literal8']);
  t.same(fetchItem(response, 'UID'), { kind: 'number', text: '4' }, 'what follows a literal is read on');
  t.notOk(response.values.some(nulOutsideLiteral8), 'a NUL in a literal8 is allowed');
  t.ok(parse('* 1 FETCH (BODY[] {1}\r\n\0)\r\n').values.some(nulOutsideLiteral8), 'a NUL in a literal is not');
  t.ok(parse('* 1 FETCH (BODY[] ("\0"))\r\n').values.some(nulOutsideLiteral8), 'nor in a quoted string, however deep');
});

t.test('nesting: BODYSTRUCTURE lists, NIL and numbers', async (t) => {
  const text = '* 3 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL)'
    + '("message" "rfc822" NIL NIL NIL "7bit" 20 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 0 0) 1) "mixed"))\r\n';
  const structure = fetchItem(parse(text), 'BODYSTRUCTURE');
  t.equal(structure?.kind === 'list' && structure.items.length, 3, 'two parts and the subtype');
  t.equal(showValue(structure as ResponseValue),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL) ("message" "rfc822" NIL NIL NIL "7bit" 20 '
    + '(NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 0 0) 1) "mixed")');
  t.equal(show('* 1 FETCH (FLAGS ())\r\n'), '* 1 FETCH (FLAGS ())', 'an empty list');
});

t.test('section atoms: brackets, quoted names and partial ranges stay one atom', async (t) => {
  t.equal(show('* 1 FETCH (BODY[HEADER.FIELDS (FROM "X]Y")] {0}\r\n)\r\n'), '* 1 FETCH (BODY[HEADER.FIELDS (FROM "X]Y")] "")');
  t.equal(show('* 1 FETCH (BODY[]<0> "ab")\r\n'), '* 1 FETCH (BODY[]<0> "ab")');
  t.equal(show('* 1 FETCH (BODY[1.MIME] NIL)\r\n'), '* 1 FETCH (BODY[1.MIME] NIL)');
});

t.test('normalised: quoted equals literal, atom case and FETCH item order do not count', async (t) => {
  const dovecot = normalised('* 1 FETCH (UID 9 body[header.fields (from  to)] {3}\r\nabc FLAGS (\\Seen))\r\n');
  const letterbox = normalised('* 1 FETCH (FLAGS (\\SEEN) BODY[HEADER.FIELDS (FROM TO)] "abc" UID 9)\r\n');
  t.equal(dovecot, letterbox);
  t.equal(letterbox, '1 FETCH (BODY[HEADER.FIELDS (FROM TO)] "abc" FLAGS (\\SEEN) UID 9)');
  t.not(normalised('* 1 FETCH (BODY[] "abc")\r\n'), normalised('* 1 FETCH (BODY[] "ABC")\r\n'), 'string bytes keep their case');
});

t.test('hostile input does not hang or throw', async (t) => {
  for (const text of ['* )\r\n', '* ]]\r\n', '* 1 FETCH (((\r\n', '* "unclosed\r\n', '* {x}\r\n', '*\r\n', '\r\n']) {
    t.doesNotThrow(() => parse(text), JSON.stringify(text));
  }
});
