// fast-check over the MIME indexer: random bytes and random MIME-ish messages never make it throw, the
// offsets always tile the message, and the index is the same whatever the chunking.
import fc from 'fast-check';
import t from 'tap';
import { bodyStructureValue, envelopeValue, indexBuffer, type MimePart } from '../../src/mailbox/mime/index.js';
import { allParts, indexInChunks, offsetProblems } from '../helpers/mime-index.js';

const RUNS = 300;

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

function holds(message: Buffer, chunk: number): boolean {
  const index = indexBuffer(message);
  bodyStructureValue(index.root, { extended: true });
  envelopeValue(index.root.envelope);
  const problems = tileProblems(index.root, message.length);
  const rootEnd = index.root.body.start + index.root.body.length;
  if (problems.length > 0 || rootEnd !== message.length || index.size !== message.length) return false;
  return JSON.stringify(indexInChunks(message, chunk)) === JSON.stringify(index);
}

t.test('random bytes', async () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 300 }), (bytes, chunk) => holds(Buffer.from(bytes), chunk)), { numRuns: RUNS });
});

const boundary = fc.constantFrom('b', 'bb', 'b1', '=_x', 'b b');
const lineBreak = fc.constantFrom('\r\n', '\n');
const headerLine = fc.oneof(
  boundary.map((b) => `Content-Type: multipart/mixed; boundary="${b}"`),
  boundary.map((b) => `Content-Type: multipart/digest; boundary=${b}`),
  fc.constantFrom('Content-Type: message/rfc822', 'Content-Type: text/plain; charset*0*=utf-8\'\'%C3; charset*1=x', 'Content-Type: ;;=',
    'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="a', 'Content-Language: en, (x) de',
    'From: "A (b) <a@b>, c:d;, <@r:e@f>', 'To: g: ;', 'Subject: =?utf-8?B?w7w=?=', ' folded', 'no colon', ''),
);
const bodyLine = fc.oneof(boundary.map((b) => `--${b}`), boundary.map((b) => `--${b}--`), fc.string({ maxLength: 20 }), fc.constant(''));
const mimeish = fc.tuple(fc.array(fc.oneof(headerLine, bodyLine), { maxLength: 60 }), lineBreak, fc.boolean())
  .map(([lines, br, finalBreak]) => Buffer.from(lines.join(br) + (finalBreak ? br : ''), 'utf8'));

t.test('random MIME-ish messages', async () => {
  fc.assert(fc.property(mimeish, fc.integer({ min: 1, max: 64 }), (message, chunk) => holds(message, chunk)), { numRuns: RUNS });
});
