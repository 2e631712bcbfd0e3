// The MIME indexer on a corpus of awkward messages (test/fixtures/mime): ENVELOPE, BODY and
// BODYSTRUCTURE as RFC 3501 7.4.2 value trees (hand-checked against its grammar), part offsets checked
// by slicing the message, and the same index whatever the chunk size.
import fs from 'node:fs';
import t from 'tap';
import { bodyStructureValue, envelopeValue, indexBuffer, type ImapValue, type MimePart } from '../../src/mailbox/mime/index.js';
import { allParts, indexInChunks, offsetProblems } from '../helpers/mime-index.js';

const FIXTURES = new URL('../fixtures/mime/', import.meta.url);
const load = (name: string) => fs.readFileSync(new URL(name, FIXTURES));
const CHUNK_SIZES = [1, 7, 64, 4096, 65536];

/**
 * offsetProblems() without the one gap Dovecot's sizes make on purpose: a message/rfc822 part whose
 * enclosed message is all header ends after the delimiter's line break, its message before it.
 */
function tileProblems(root: MimePart, size: number): string[] {
  const end = (p: MimePart) => p.body.start + p.body.length;
  const quirk = (problem: string) => allParts(root).some((p) => p.message !== null && p.message.body.length === 0
    && problem === `part '${p.section}' enclosed message ends early` && [1, 2].includes(end(p) - end(p.message)));
  return offsetProblems(root, 0, size).filter((problem) => !quirk(problem));
}

const N = null;
const TEXT_EXT = [N, N, N, N];
const ASCII = ['charset', 'us-ascii'];
const env = (date: ImapValue, subject: ImapValue, from: ImapValue, to: ImapValue = N, cc: ImapValue = N, inReplyTo: ImapValue = N, messageId: ImapValue = N): ImapValue =>
  [date, subject, from, from, from, to, cc, N, inReplyTo, messageId];

interface Case {
  envelope: ImapValue;
  bodystructure: ImapValue;
  /** Section -> the body bytes it must slice to (latin1). */
  bodies: Record<string, string>;
}

const JO = [['Jo Q. Public', N, 'jo', 'example.com']];
const CORPUS: Record<string, Case> = {
  'nested.eml': {
    envelope: env('Fri, 5 Jan 2024 03:04:05 +0000', '=?utf-8?Q?Gr=C3=BC=C3=9Fe?= and more', JO,
      [[N, N, 'Team', N], [N, N, 'a', 'x.org'], ['B "b"', N, 'b', 'y.org'], [N, N, N, N], [N, N, 'bob', 'MISSING_DOMAIN'], [N, N, 'carol', 'z.org']],
      [[N, N, 'undisclosed-recipients', N], [N, N, N, N]], '<m0@example.com>', '<m1@example.com>'),
    bodystructure: [
      [['text', 'plain', ['charset', 'utf-8'], N, N, '8bit', 16, 1, ...TEXT_EXT],
        ['text', 'html', ASCII, N, N, '7bit', 9, 0, N, N, ['en', 'de'], N],
        'alternative', ['boundary', 'inner'], N, N, N],
      ['application', 'pdf', ['name*', "utf-8''J%C3%B6rg%20file.pdf"], '<pdf@example.com>', 'The report', 'base64', 12,
        'Q2hlY2sgSW50ZWdyaXR5IQ==', ['attachment', ['filename', '=?utf-8?Q?J=C3=B6rg?= file.pdf', 'size', '1234']], N, 'http://example.com/r.pdf'],
      ['message', 'rfc822', N, N, N, '7bit', 80,
        env(N, 'Inner', [[N, N, 'inner', 'example.com']]),
        ['text', 'plain', ASCII, N, N, '7bit', 11, 0, ...TEXT_EXT], 4, ...TEXT_EXT],
      'mixed', ['boundary', 'outer'], N, N, N],
    bodies: { '1.1': 'Hall\xc3\xb6\r\nline two', '1.2': '<p>Hi</p>', '2': 'JVBERi0xLjQK', '3': 'From: inner@example.com\r\nSubject: Inner\r\nContent-Type: text/plain\r\n\r\nInner body.' },
  },
  'bare-lf.eml': {
    envelope: env(N, 'bare LF', [[N, N, 'a', 'example.com']]),
    bodystructure: ['text', 'plain', ASCII, N, N, '7bit', 17, 1, ...TEXT_EXT],
    bodies: { '': 'line one\nline two' },
  },
  'unclosed.eml': {
    envelope: env(N, 'never closed', [['Sender', N, 's', 'example.com']]),
    bodystructure: [['text', 'plain', ['charset', 'iso-8859-1'], N, N, '8bit', 4, 0, ...TEXT_EXT],
      ['application', 'octet-stream', N, N, N, 'binary', 7, ...TEXT_EXT], 'mixed', ['boundary', 'b1'], N, N, N],
    bodies: { '1': 'caf\xe9', '2': '\x00\x01\x02\xff\r\n\x00' },
  },
  'no-boundary.eml': {
    // As Dovecot: a multipart that cannot be split holds one empty text/plain part.
    envelope: env(N, 'no boundary', N),
    bodystructure: [['text', 'plain', ASCII, N, N, '7bit', 0, 0, ...TEXT_EXT], 'mixed', N, N, N, N],
    bodies: { '': '--x\r\nbody\r\n--x--\r\n', '1': '' },
  },
  'header-only.eml': {
    envelope: env(N, 'header only', [[N, N, 'x', 'example.com']]),
    bodystructure: ['text', 'plain', ASCII, N, N, '7bit', 0, 0, ...TEXT_EXT],
    bodies: { '': '' },
  },
  'empty.eml': {
    envelope: env(N, N, N),
    bodystructure: ['text', 'plain', ASCII, N, N, '7bit', 0, 0, ...TEXT_EXT],
    bodies: { '': '' },
  },
  'digest.eml': {
    envelope: env(N, N, [[N, N, 'd', 'example.com']]),
    bodystructure: [
      ['message', 'rfc822', N, N, N, '7bit', 22, env(N, 'one', N), ['text', 'plain', ASCII, N, N, '7bit', 6, 0, ...TEXT_EXT], 2, ...TEXT_EXT],
      // Sent in base64, against RFC 2046 5.2.1: read as it stands, as Dovecot does: a message that is all
      // header (no field in it), an empty text/plain body, and the delimiter's CRLF counted in the part.
      ['message', 'rfc822', N, N, N, 'base64', 34, env(N, N, N), ['text', 'plain', ASCII, N, N, '7bit', 0, 0, ...TEXT_EXT], 1, ...TEXT_EXT],
      'digest', ['boundary', 'd'], N, N, N],
    bodies: { '1': 'Subject: one\r\n\r\nFirst.', '2': 'U3ViamVjdDogdHdvDQoNClNlY29uZC4=\r\n' },
  },
};

/** BODY is BODYSTRUCTURE without the extension data: drop the trailing fields of each part. */
function withoutExtensions(value: ImapValue): ImapValue {
  if (!Array.isArray(value)) return value;
  const firstNonList = value.findIndex((v) => !Array.isArray(v));
  if (firstNonList > 0) return [...value.slice(0, firstNonList).map(withoutExtensions), value[firstNonList] ?? N]; // multipart
  const isMessage = value[0] === 'message' && value[1] === 'rfc822' && value.length > 11;
  const isText = typeof value[0] === 'string' && value[0].toLowerCase() === 'text';
  const basic = value.slice(0, 7);
  if (isMessage) return [...basic, value[7] ?? N, withoutExtensions(value[8] ?? N), value[9] ?? N];
  return isText ? [...basic, value[7] ?? N] : basic;
}

for (const [name, expected] of Object.entries(CORPUS)) {
  t.test(name, async (t) => {
    const message = load(name);
    const index = indexBuffer(message);
    t.same(envelopeValue(index.root.envelope), expected.envelope, 'ENVELOPE');
    t.same(bodyStructureValue(index.root, { extended: true }), expected.bodystructure, 'BODYSTRUCTURE');
    t.same(bodyStructureValue(index.root, { extended: false }), withoutExtensions(expected.bodystructure), 'BODY');
    t.same(tileProblems(index.root, message.length), [], 'offsets tile the message');
    t.equal(index.root.body.start + index.root.body.length, message.length, 'the root runs to the last byte');
    const bySection = new Map(allParts(index.root).filter((p) => !p.envelope || p === index.root).map((p) => [p.section, p]));
    for (const [section, body] of Object.entries(expected.bodies)) {
      const part = bySection.get(section);
      t.ok(part, `part '${section}' exists`);
      if (part) t.equal(message.subarray(part.body.start, part.body.start + part.body.length).toString('latin1'), body, `body of '${section}'`);
    }
    for (const part of allParts(index.root)) {
      const header = message.subarray(part.header.start, part.header.start + part.header.length).toString('latin1');
      t.ok(header === '' || /(^|\n)\r?\n$/.test(header) || part.body.length === 0, `header of '${part.section}' ends with its empty line`);
    }
    for (const size of CHUNK_SIZES) t.same(indexInChunks(message, size), index, `same index in ${size}-byte chunks`);
  });
}

t.test('decoded forms for SEARCH', async (t) => {
  const index = indexBuffer(load('nested.eml'));
  t.equal(index.root.envelope?.decodedSubject, 'Grüße and more');
  const pdf = index.root.children[1];
  t.same(pdf?.params.map((p) => [p.name, p.decoded]), [['name*', 'Jörg file.pdf']], 'RFC 2231 continuation decoded');
  t.same(pdf?.disposition?.params.map((p) => p.decoded), ['Jörg file.pdf', '1234'], 'RFC 2047 in a parameter decoded');
  t.equal(pdf?.decodedDescription, 'The report');
});

t.test('CRLF-canonical sizes count each bare LF once more', async (t) => {
  const index = indexBuffer(load('bare-lf.eml'));
  t.equal(index.root.headerBareLf, 3);
  t.equal(index.root.bodyBareLf, 1);
  t.equal(bodyStructureValue(index.root, { extended: false, crlfSizes: true })[6], 18);
});

t.test('a nested multipart may reuse its parent boundary; the longest matching boundary wins', async (t) => {
  const message = Buffer.from([
    'Content-Type: multipart/mixed; boundary=a', '', '--a', 'Content-Type: multipart/mixed; boundary=ab', '',
    '--ab', '', 'inner', '--ab--', '--a', '', 'second', '--a--', '',
  ].join('\r\n'));
  const index = indexBuffer(message);
  t.same(index.root.children.map((c) => c.section), ['1', '2']);
  t.same(index.root.children[0]?.children.map((c) => c.section), ['1.1']);
  const second = index.root.children[1];
  t.equal(second && message.subarray(second.body.start, second.body.start + second.body.length).toString(), 'second');
  t.same(offsetProblems(index.root, 0, message.length), []);
});

t.test('an outer boundary ends an inner multipart that was never closed', async (t) => {
  const message = Buffer.from('Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\nunclosed\n--o\n\nafter\n--o--\n');
  const index = indexBuffer(message);
  const inner = index.root.children[0]?.children[0];
  t.equal(inner && message.subarray(inner.body.start, inner.body.start + inner.body.length).toString(), 'unclosed');
  t.equal(index.root.children.length, 2);
  t.same(offsetProblems(index.root, 0, message.length), []);
});

t.test('a boundary-looking line in a part header ends that part', async (t) => {
  const message = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--\r\n');
  const index = indexBuffer(message);
  const part = index.root.children[0];
  t.equal(part?.header.length, 'Content-Type: text/plain'.length);
  t.equal(part?.body.length, 0);
  t.equal(part?.subtype, 'plain');
});

t.test('a message/rfc822 at the top is part 1 and holds the enclosed message', async (t) => {
  const message = Buffer.from('Content-Type: message/rfc822\r\n\r\nSubject: inside\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x--\r\n');
  const index = indexBuffer(message);
  t.equal(index.root.message?.section, '1');
  t.same(index.root.message?.children.map((c) => c.section), ['1.1']);
  t.equal(index.root.message?.envelope?.subject, 'inside');
});
