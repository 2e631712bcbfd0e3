// The IMAP response encoder and mailbox name encoding (src/imap/wire/): the bytes a client reads.
import t from 'tap';
import { astr, atom, list, literal8, NIL, nstr, num, ResponseEncoder, seq, str, type ResponseValue } from '../../src/imap/wire/encoder.js';
import { decodeMailboxName, encodeMailboxName } from '../../src/imap/wire/mailbox-name.js';
import { compactSequenceSet, parseSequenceSet } from '../../src/imap/wire/sequence-set.js';
import { CommandParser } from '../../src/imap/wire/command-parser.js';

const encoder = new ResponseEncoder();
const wire = (value: ResponseValue, on = encoder) => on.encode([value]).toString('latin1');

t.test('strings: quoted or literal by content', async (t) => {
  const cases: Array<[string | Buffer, string]> = [
    ['fred', '"fred"'],
    ['', '""'],
    ['say "hi" \\o/', '"say \\"hi\\" \\\\o/"'],
    ['two\r\nlines', '{10}\r\ntwo\r\nlines'],
    ['tab\there', '{8}\r\ntab\there'],
    ['café', '{5}\r\ncaf\xc3\xa9'],
    [Buffer.from([0x61, 0x00, 0x62]), '{3}\r\na\x00b'],
    ['x'.repeat(1024), `"${'x'.repeat(1024)}"`],
    ['x'.repeat(1025), `{1025}\r\n${'x'.repeat(1025)}`],
  ];
  for (const [value, want] of cases) t.equal(wire(str(value)), want, JSON.stringify(value).slice(0, 40));
});

t.test('UTF-8 in quoted strings only when enabled (RFC 6855, RFC 9051)', async (t) => {
  const utf8 = new ResponseEncoder({ utf8: true, quotedMax: 8 });
  t.equal(wire(str('café'), utf8), '"caf\xc3\xa9"');
  t.equal(wire(str(Buffer.from([0x63, 0xe9])), utf8), '{2}\r\nc\xe9', 'invalid UTF-8 still goes in a literal');
  t.equal(wire(str('123456789'), utf8), '{9}\r\n123456789', 'over quotedMax');
});

t.test('astrings are atoms when they can be', async (t) => {
  const cases: Array<[string, string]> = [
    ['INBOX', 'INBOX'],
    ['Sent/2024', 'Sent/2024'],
    ['NIL', '"NIL"'],
    ['nil', '"nil"'],
    ['', '""'],
    ['a b', '"a b"'],
    ['a]b', '"a]b"'],
    ['100%', '"100%"'],
    ['&Jjo-', '&Jjo-'],
  ];
  for (const [value, want] of cases) t.equal(wire(astr(value)), want, value);
});

t.test('atoms, numbers, NIL, lists, sequence sets, FETCH item names', async (t) => {
  const flags = list([atom('\\Seen'), atom('\\*'), atom('$Junk')]);
  t.equal(wire(flags), '(\\Seen \\* $Junk)');
  t.equal(wire(list([])), '()');
  t.equal(wire(list([num(0), num(4294967295), num(9223372036854775807n), NIL, nstr(null), nstr('x')])), '(0 4294967295 9223372036854775807 NIL NIL "x")');
  t.equal(wire(list([list([list([str('a')])]), NIL])), '((("a")) NIL)');
  t.equal(wire(seq(compactSequenceSet([9, 1, 2, 3, 5, 6, 3]))), '1:3,5:6,9');
  t.equal(wire(seq(parseSequenceSet('7:*,$') ?? { ranges: [], lastResult: false })), '7:*,$');
  t.equal(wire(atom('BODY', [atom('HEADER.FIELDS'), list([astr('From'), astr('To')])], 0)), 'BODY[HEADER.FIELDS (From To)]<0>');
  t.equal(wire(atom('BINARY', [atom('1.2')])), 'BINARY[1.2]');
  t.equal(wire(literal8(Buffer.from([0, 1]))), '~{2}\r\n\x00\x01');
});

t.test('whole responses', async (t) => {
  const fetch = encoder.response('* 12 FETCH', [list([atom('UID'), num(4), atom('FLAGS'), list([atom('\\Seen')]), atom('BODY', [], 0), str('a\r\n')])]);
  t.equal(fetch.toString('latin1'), '* 12 FETCH (UID 4 FLAGS (\\Seen) BODY[]<0> {3}\r\na\r\n)\r\n');
  t.equal(encoder.response('* SEARCH', []).toString('latin1'), '* SEARCH\r\n');
  t.equal(encoder.status('a1', 'OK', 'LOGIN completed').toString(), 'a1 OK LOGIN completed\r\n');
  t.equal(encoder.status('*', 'NO', 'Mailbox\r\nis full', 'OVERQUOTA').toString(), '* NO [OVERQUOTA] Mailbox is full\r\n');
});

t.test('values the server could never mean are bugs, and throw', async (t) => {
  t.throws(() => encoder.encode([atom('two words')]), TypeError);
  t.throws(() => encoder.encode([atom('')]), TypeError);
  t.throws(() => encoder.encode([atom('\\')]), TypeError);
  t.throws(() => encoder.encode([num(-1)]), TypeError);
  t.throws(() => encoder.encode([num(1.5)]), TypeError);
  t.throws(() => encoder.encode([seq({ ranges: [], lastResult: false })]), TypeError);
});

t.test('what the encoder writes, the parser reads back byte for byte', async (t) => {
  const values = ['', 'plain', 'q"uo\\te', 'line\r\nbreak', 'caf\u00e9', '\u0000nul', 'x'.repeat(2000)];
  const line = Buffer.concat([Buffer.from('r1 X '), encoder.encode(values.map(str)), Buffer.from('\r\n')]);
  const command = new CommandParser().push(line).find((e) => e.kind === 'command');
  t.ok(command?.kind === 'command');
  if (command?.kind !== 'command') return;
  t.same(
    command.command.args.map((a) => (a.kind === 'string' ? a.value.toString('utf8') : a.kind)),
    values,
  );
});

t.test('modified UTF-7 mailbox names (RFC 3501 5.1.3)', async (t) => {
  const names: Array<[string, string]> = [
    ['INBOX', 'INBOX'],
    ['', ''],
    ['&', '&-'],
    ['Tom & Jerry', 'Tom &- Jerry'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'], // the RFC's own example
    ['📬', '&2D3c7A-'],
    ['Post 📬&📮', 'Post &2D3c7A-&-&2D3c7g-'],
    ['Ünïcödé', '&ANw-n&AO8-c&APY-d&AOk-'],
  ];
  for (const [name, encoded] of names) {
    t.equal(encodeMailboxName(name), encoded, `encode ${name}`);
    t.equal(decodeMailboxName(encoded), name, `decode ${encoded}`);
  }
  t.throws(() => encodeMailboxName('bad \ud800 surrogate'), RangeError);
});

t.test('invalid modified UTF-7 is refused, not guessed', async (t) => {
  const invalid = [
    '&', // unterminated
    '&AOQ', // no closing dash
    'caf\u00e9', // 8-bit where US-ASCII is required
    'tab\there', // a control character
    '&AGE-', // base64 for "a", which must stand for itself
    '&AOQ=-', // padding
    '&AOR-', // stray bits after the last code unit
    '&2D0-', // half a surrogate pair
    '&A/Q-', // `/` belongs to plain BASE64, not the modified one
  ];
  for (const wireName of invalid) t.equal(decodeMailboxName(wireName), null, JSON.stringify(wireName));
});
