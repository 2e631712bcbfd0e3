// FETCH sections (RFC 3501 6.4.5) and BINARY (RFC 3516) of the backend's MessageView, against the
// answers Dovecot gave for the same messages (test/fixtures/mailbox/dovecot-answers.json, recorded by
// hand from Debian's Dovecot 2.3 in preauth mode), plus SEARCH's decoded header values and text.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ImapBackendError, type MessageView, type SectionSpec } from '../../src/imap/backend.js';
import { decodeBase64, decodeQuotedPrintable } from '../../src/mailbox/binary.js';
import { fetchAll, MAKERS } from '../helpers/mailbox-backends.js';

const FIXTURES = new URL('../fixtures/mailbox/', import.meta.url);
const MESSAGES = ['mixed.eml', 'single-base64.eml', 'rfc822-top.eml', 'unknown-cte.eml'];

interface Answer {
  message: string;
  item: string;
  base64?: string;
  size?: number;
  error?: string;
}
const answers = (JSON.parse(readFileSync(new URL('dovecot-answers.json', FIXTURES), 'utf8')) as { answers: Answer[] }).answers;

/** `1.2.MIME`, `HEADER.FIELDS (A B)`, `` ... as a SectionSpec. */
function sectionSpec(text: string): SectionSpec {
  const match = /^([\d.]*?)\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?: \((.*)\))?$/i.exec(text);
  if (!match) throw new Error(`cannot read section ${text}`);
  const path = match[1] ? match[1].split('.').map(Number) : [];
  const spec: SectionSpec = { path };
  if (match[2]) spec.text = match[2].toUpperCase() as SectionSpec['text'];
  if (match[3]) spec.fields = match[3].split(' ');
  return spec;
}

async function ours(view: MessageView, item: string): Promise<{ bytes?: Buffer; size?: number; error?: string }> {
  const match = /^(BODY\.PEEK|BINARY\.PEEK|BINARY\.SIZE)\[(.*)\]$/.exec(item)!;
  const inside = match[2]!;
  try {
    if (match[1] === 'BODY.PEEK') return { bytes: await view.section(sectionSpec(inside)) };
    const path = inside ? inside.split('.').map(Number) : [];
    if (match[1] === 'BINARY.PEEK') return { bytes: await view.binary(path) };
    return { size: await view.binarySize(path) };
  } catch (err) {
    if (err instanceof ImapBackendError) return { error: err.code };
    throw err;
  }
}

for (const { kind, make } of MAKERS) {
  t.test(`${kind}: sections and BINARY as Dovecot answers them`, async (t) => {
    const f = await make({});
    t.teardown(() => f.close());
    const account = await f.login();
    for (const name of MESSAGES) await account.append('INBOX', readFileSync(new URL(name, FIXTURES)), [], null);
    const inbox = await account.select('INBOX', { readOnly: true });
    const views = await fetchAll(inbox, [1, 2, 3, 4]);
    for (const answer of answers) {
      const view = views[MESSAGES.indexOf(answer.message)]!;
      const got = await ours(view, answer.item);
      const label = `${answer.message} ${answer.item}`;
      if (answer.error) t.equal(got.error, answer.error, label);
      else if (answer.size !== undefined) t.equal(got.size, answer.size, label);
      else t.equal(got.bytes?.toString('latin1'), Buffer.from(answer.base64!, 'base64').toString('latin1'), label);
    }
  });

  t.test(`${kind}: SEARCH text`, async (t) => {
    const f = await make({});
    t.teardown(() => f.close());
    const account = await f.login();
    for (const name of MESSAGES) await account.append('INBOX', readFileSync(new URL(name, FIXTURES)), [], null);
    const inbox = await account.select('INBOX', { readOnly: true });
    const [mixed, single, forwarded] = await fetchAll(inbox, [1, 2, 3]);
    t.same(await mixed!.headerValues('Subject'), ['Report für März'], 'RFC 2047 decoded');
    t.same(await mixed!.headerValues('from'), ['Jörg <jorg@example.com>']);
    t.same(await mixed!.headerValues('X-Folded'), ['first  second'], 'unfolded');
    t.same(await mixed!.headerValues('X-None'), []);
    t.same(mixed!.sentDate()?.toISOString(), '2026-03-03T00:00:00.000Z', 'the day as written');

    const body = await mixed!.searchText('body');
    t.match(body, 'Grüße aus München');
    t.match(body, 'a soft break and an = sign.');
    t.match(body, 'Hello  World  & friends <3.', 'HTML as text');
    t.match(body, 'Inner text.', 'an enclosed message is text too');
    t.notMatch(body, 'Report für März', 'BODY has no header');
    t.notMatch(body, '\u0001', 'nor attachments');
    const text = await mixed!.searchText('text');
    t.match(text, 'Subject: Report für März');
    t.match(text, 'Subject: Inner message', 'nor the enclosed header for TEXT');
    t.match(await single!.searchText('body'), 'Hello, wörld!');
    t.match(await forwarded!.searchText('body'), 'Original body.');
    t.equal(forwarded!.sentDate(), null, 'no Date');
  });
}

t.test('transfer decoders are lenient', async (t) => {
  t.equal(decodeBase64(Buffer.from('aGVs\r\nbG8=')).toString(), 'hello');
  t.equal(decodeBase64(Buffer.from('aGVsbG8*!gd29y bGQ')).toString(), 'hello world', 'junk skipped, short tail kept');
  t.equal(decodeBase64(Buffer.from('aGk=aGk=')).toString(), 'hihi', 'padding in the middle (concatenated)');
  t.equal(decodeBase64(Buffer.from('a')).length, 0);
  t.equal(decodeQuotedPrintable(Buffer.from('a=3Db=\r\nc =\r\n=XYd  \r\ne=')).toString(), 'a=bc =XYd\r\ne');
  t.equal(decodeQuotedPrintable(Buffer.from('bare=41\nlf')).toString(), 'bareA\nlf');
});
