// The MIME indexer where Letterbox answers as Dovecot does (issue 7, test/integration/imap-dovecot-compare):
// odd addresses, parameter names as sent, a multipart without a boundary, a header that runs into a
// boundary, a message/rfc822 sent in base64. Each case is what Dovecot 2.3 answered for the same bytes.
import t from 'tap';
import { parseAddressList } from '../../src/mailbox/mime/address.js';
import { bodyStructureValue, envelopeValue, indexBuffer, type ImapValue, type MimePart } from '../../src/mailbox/mime/index.js';
import { allParts, indexInChunks, offsetProblems } from '../helpers/mime-index.js';

/** offsetProblems() without the gap Dovecot's sizes make on purpose (see mime-index-corpus.test.ts). */
function tileProblems(root: MimePart, size: number): string[] {
  const end = (p: MimePart) => p.body.start + p.body.length;
  const quirk = (problem: string) => allParts(root).some((p) => p.message !== null && p.message.body.length === 0
    && problem === `part '${p.section}' enclosed message ends early` && [1, 2].includes(end(p) - end(p.message)));
  return offsetProblems(root, 0, size).filter((problem) => !quirk(problem));
}

const N = null;
const TEXT_EXT = [N, N, N, N];
const ASCII = ['charset', 'us-ascii'];
const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');
const slice = (message: Buffer, range: { start: number; length: number }) => message.subarray(range.start, range.start + range.length).toString('latin1');
const addresses = (text: string) => (envelopeValue({
  date: N, subject: N, from: parseAddressList(text), sender: N, replyTo: N, to: N, cc: N, bcc: N, inReplyTo: N, messageId: N, decodedSubject: N,
}) as ImapValue[])[2];

t.test('odd addresses as Dovecot writes them', async (t) => {
  t.same(addresses('@nolocal.test'), [[N, N, 'MISSING_MAILBOX', 'nolocal.test']], 'no local part');
  t.same(addresses('nodomain'), [[N, N, 'nodomain', 'MISSING_DOMAIN']], 'no domain');
  t.same(addresses('"" <empty-name@example.com>'), [[N, N, 'empty-name', 'example.com']], 'an empty display name is NIL');
  t.same(addresses('(empty) , "Big" <big@example.net>'), [[N, N, 'MISSING_MAILBOX', 'MISSING_DOMAIN'], ['Big', N, 'big', 'example.net']], 'an item of only a comment');
  t.same(addresses('a@x.test, , b@y.test'), [[N, N, 'a', 'x.test'], [N, N, 'MISSING_MAILBOX', 'MISSING_DOMAIN'], [N, N, 'b', 'y.test']], 'an empty item');
  t.same(addresses('a@x.test,'), [[N, N, 'a', 'x.test']], 'a trailing comma adds nothing');
  t.equal(addresses('(only a comment)'), N, 'a field with no address at all is NIL');
  t.same(addresses('G: a@x.test;, Undisclosed:;'), [[N, N, 'G', N], [N, N, 'a', 'x.test'], [N, N, N, N], [N, N, 'Undisclosed', N], [N, N, N, N]], 'the comma after a group is no item');
  t.same(addresses('(Carol) carol@z.org'), [[N, N, 'carol', 'z.org']], 'a comment before an addr-spec is no name');
  t.same(addresses('carol@z.org (Carol)'), [['Carol', N, 'carol', 'z.org']], 'a comment after it is');
});

t.test('string fields keep trailing white space as Dovecot sends them; Subject and parsed fields do not', async (t) => {
  const index = indexBuffer(crlf('Date: Mon, 1 Jan 2024 00:00:00 +0000  ', 'In-Reply-To: <x@y>  ', 'Message-ID:    <spaces@example.com>   ',
    'Subject:  s t  ', 'Content-ID: <c@y>  ', 'Content-Location: loc  ', 'Content-MD5: md5  ', 'Content-Description: d  ',
    'Content-Type: text/plain; name="x"  ', 'Content-Disposition: inline  ', 'Content-Language: en  ', '', 'body', ''));
  const envelope = envelopeValue(index.root.envelope) as ImapValue[];
  t.same([envelope[0], envelope[1], envelope[8], envelope[9]], ['Mon, 1 Jan 2024 00:00:00 +0000  ', 's t', '<x@y>  ', '<spaces@example.com>   ']);
  t.same(bodyStructureValue(index.root, { extended: true }),
    ['text', 'plain', ['name', 'x', 'charset', 'us-ascii'], '<c@y>  ', 'd  ', '7bit', 6, 1, 'md5  ', ['inline', N], ['en'], 'loc  ']);
});

t.test('parameter names keep their case in BODYSTRUCTURE and still match in any case', async (t) => {
  const index = indexBuffer(crlf('Content-Type: Multipart/Mixed; BOUNDARY="UpperCase"', '', '--UpperCase',
    'Content-Type: TEXT/PLAIN; CHARSET=UTF-8; Name*0="a"; name*1="b"', '', 'x', '--UpperCase--', ''));
  const structure = bodyStructureValue(index.root, { extended: true });
  t.same(structure[0], ['TEXT', 'PLAIN', ['CHARSET', 'UTF-8', 'Name', 'ab'], N, N, '7bit', 1, 0, ...TEXT_EXT], 'no us-ascii added: CHARSET is the charset');
  t.same(structure.slice(1, 3), ['Mixed', ['BOUNDARY', 'UpperCase']]);
  t.same(index.root.children[0]?.params.map((p) => p.name), ['charset', 'name'], 'names for matching are lower-cased');
});

t.test('a multipart without a boundary holds one empty text/plain part', async (t) => {
  const message = crlf('Subject: no boundary', 'Content-Type: multipart/mixed', '', '--x', 'body', '--x--', '');
  const index = indexBuffer(message);
  t.same(bodyStructureValue(index.root, { extended: true }), [['text', 'plain', ASCII, N, N, '7bit', 0, 0, ...TEXT_EXT], 'mixed', N, N, N, N]);
  t.same(bodyStructureValue(index.root, { extended: false }), [['text', 'plain', ASCII, N, N, '7bit', 0, 0], 'mixed']);
  const part = index.root.children[0] as MimePart;
  t.equal(part.section, '1');
  t.equal(slice(message, part.header), '');
  t.equal(slice(message, part.body), '');
  t.equal(slice(message, index.root.body), '--x\r\nbody\r\n--x--\r\n', 'the multipart keeps its whole body');
});

t.test('a header that runs into a boundary ends before the delimiter\'s line break (RFC 2046 5.1.1)', async (t) => {
  const message = crlf('Content-Type: multipart/mixed; boundary="j"', '', '--j', 'Content-Type: text/plain', '', '--j', 'junk only', '--j--', '');
  const index = indexBuffer(message);
  const [first, second] = index.root.children as [MimePart, MimePart];
  t.equal(slice(message, first.header), 'Content-Type: text/plain\r\n', 'the empty line is the delimiter\'s CRLF');
  t.equal(slice(message, first.body), '');
  t.equal(first.body.start, first.header.start + first.header.length);
  t.equal(slice(message, second.header), 'junk only');
  t.equal(slice(message, second.body), '');
  for (const size of [1, 3, 5]) t.same(indexInChunks(message, size), index, `same index in ${size}-byte chunks`);
});

t.test('a part that would hold more, cut off by the delimiter\'s line break, holds only empty parts', async (t) => {
  for (const type of ['message/rfc822', 'multipart/mixed', 'multipart/mixed; boundary=in']) {
    const message = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', `Content-Type: ${type}`, '', '--b--', '');
    const index = indexBuffer(message);
    t.same(tileProblems(index.root, message.length), [], type);
    const part = index.root.children[0] as MimePart;
    t.equal(slice(message, part.header), `Content-Type: ${type}\r\n`, `${type}: header`);
    for (const size of [1, 5]) t.same(indexInChunks(message, size), index, `${type}: same index in ${size}-byte chunks`);
  }
});

t.test('a message/rfc822 sent in base64 is read as it stands, as Dovecot does', async (t) => {
  const encoded = ['U3ViamVjdDogdHdvDQoNClNlY29uZC4=', 'U3ViamVjdDogdHdvDQoNClNlY29uZC4='];
  const message = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: message/rfc822',
    'Content-Transfer-Encoding: base64', '', ...encoded, '--b--', '');
  const index = indexBuffer(message);
  const part = index.root.children[0] as MimePart;
  const enclosed = part.message as MimePart;
  t.same(bodyStructureValue(part, { extended: false }), [
    'message', 'rfc822', N, N, N, 'base64', 68, [N, N, N, N, N, N, N, N, N, N], ['text', 'plain', ASCII, N, N, '7bit', 0, 0], 2,
  ], 'a complete body-type-msg: empty envelope, empty text/plain, the delimiter\'s line break counted');
  t.equal(slice(message, part.body), `${encoded.join('\r\n')}\r\n`);
  t.equal(slice(message, enclosed.header), encoded.join('\r\n'), 'the enclosed message is all header');
  t.equal(enclosed.body.length, 0);
  t.equal(enclosed.section, '1');
  for (const size of [1, 4, 9]) t.same(indexInChunks(message, size), index, `same index in ${size}-byte chunks`);
});

t.test('quoted-printable message/rfc822 at the end of the message', async (t) => {
  const message = crlf('Content-Type: message/rfc822', 'Content-Transfer-Encoding: quoted-printable', '', 'Subject: q=3D', '', 'body=', '');
  const index = indexBuffer(message);
  const enclosed = index.root.message as MimePart;
  t.equal(enclosed.section, '1');
  t.equal(enclosed.envelope?.subject, 'q=3D', 'the enclosed header is read without decoding');
  t.equal(slice(message, enclosed.body), 'body=\r\n');
});
