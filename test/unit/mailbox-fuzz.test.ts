// fast-check over the MessageView of the backend: for random MIME-ish messages (nested multiparts,
// enclosed messages, every transfer encoding, junk), every section, BINARY and SEARCH call answers
// (an UNKNOWN-CTE refusal is an answer) and never throws anything else; the pieces agree with each
// other (HEADER then TEXT is the message; BINARY.SIZE is BINARY's length).
import fc from 'fast-check';
import { CrlfLineEnds } from '../../src/core/line-ends.js';
import t from 'tap';
import { ImapBackendError, type MessageView } from '../../src/imap/backend.js';
import { locate } from '../../src/mailbox/sections.js';
import type { MessageIndex, MimePart } from '../../src/mailbox/mime/index.js';
import { memoryImapBackend } from '../helpers/memory-folder-store.js';
import { ALICE, CLIENT, fetchAll, PASSWORD } from '../helpers/mailbox-backends.js';

const RUNS = 150;

const boundary = fc.constantFrom('b', 'bb', 'c');
const lineBreak = fc.constantFrom('\r\n', '\n');
const headerLine = fc.oneof(
  boundary.map((b) => `Content-Type: multipart/mixed; boundary="${b}"`),
  fc.constantFrom(
    'Content-Type: message/rfc822', 'Content-Type: text/html; charset=iso-8859-1', 'Content-Type: text/plain; charset=bogus',
    'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable', 'Content-Transfer-Encoding: x-uue',
    'Content-Transfer-Encoding: 8bit', 'Subject: =?utf-8?Q?=C3=BC?= =?bad?', 'From: a@b', 'X-Folded: a', '\tcontinued', 'no colon', '',
  ),
);
const bodyLine = fc.oneof(boundary.map((b) => `--${b}`), boundary.map((b) => `--${b}--`), fc.constantFrom('SGVsbG8=', '=C3=BC=', '<p>&amp;</p>', 'a=\r', '=', '\u0000\u00ff'), fc.string({ maxLength: 12 }));
const mimeish = fc.tuple(fc.array(fc.oneof(headerLine, bodyLine), { maxLength: 50 }), lineBreak, fc.boolean())
  .map(([lines, br, finalBreak]) => Buffer.from(lines.join(br) + (finalBreak ? br : ''), 'latin1'));

/** Every part path of the index, and a few that name nothing. */
function paths(index: MessageIndex): number[][] {
  const out: number[][] = [[1], [2], [1, 1], [9], [0]];
  const walk = (part: MimePart, path: number[]) => {
    part.children.forEach((child, i) => {
      out.push([...path, i + 1]);
      walk(child, [...path, i + 1]);
    });
    if (part.message) walk(part.message, path);
  };
  walk(index.root, []);
  return out;
}

async function answers<T>(call: () => Promise<T>): Promise<T | 'refused'> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ImapBackendError && err.code === 'UNKNOWN-CTE') return 'refused';
    throw err;
  }
}

async function exercise(view: MessageView, message: Buffer, index: MessageIndex): Promise<boolean> {
  view.envelope();
  view.bodyStructure(true);
  view.sentDate();
  if (!(await view.section({ path: [] })).equals(message)) return false;
  const header = await view.section({ path: [], text: 'HEADER' });
  const text = await view.section({ path: [], text: 'TEXT' });
  if (!Buffer.concat([header, text]).equals(message)) return false;
  await view.section({ path: [], text: 'HEADER.FIELDS', fields: ['Subject', 'x-folded'] });
  await view.section({ path: [], text: 'HEADER.FIELDS.NOT', fields: ['From'] });
  await view.headerValues('Subject');
  await view.searchText('text');
  for (const path of [[], ...paths(index)]) {
    for (const text of [undefined, 'MIME', 'HEADER', 'TEXT'] as const) await view.section(text ? { path, text } : { path });
    const binary = await answers(() => view.binary(path));
    const size = await answers(() => view.binarySize(path));
    if ((binary === 'refused') !== (size === 'refused')) return false;
    if (binary !== 'refused' && binary.length !== size) return false;
    if (path.length > 0 && !locate(index, path) && (await view.section({ path })).length !== 0) return false;
  }
  return true;
}

t.test('random MIME-ish messages through MessageView', async (t) => {
  const { backend, store } = memoryImapBackend({ users: { [ALICE]: PASSWORD } });
  t.teardown(() => backend.stop());
  const account = await backend.login(ALICE, PASSWORD, CLIENT);
  const inbox = await account.select('INBOX', { readOnly: false });
  await fc.assert(
    fc.asyncProperty(mimeish, async (message) => {
      const { entry } = await store.appendBytes(ALICE, 'INBOX', message);
      const [view] = await fetchAll(inbox, [entry.uid]);
      const [index] = (await store.messageIndexes([entry.messageId])) as MessageIndex[];
      // The store ends lines with CRLF (core/line-ends.ts): the view gives what was stored.
      const ok = await exercise(view!, new CrlfLineEnds().canonical(message), index!);
      await inbox.store([entry.uid], 'add', ['\\Deleted']);
      await inbox.expunge([entry.uid]);
      return ok;
    }),
    { numRuns: RUNS },
  );
});
