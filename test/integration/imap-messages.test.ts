// The message commands over real sockets: the IMAP server with the real backend on the in-memory folder
// store, driven by imapflow (what a Node mail client does) and by a raw client for the exact bytes
// (COPYUID, MOVE's order, VANISHED, literal8, MODIFIED).
import { ImapFlow } from 'imapflow';
import t, { type Test } from 'tap';
import { MULTIPART, PASSWORD, PLAIN, startMessageServer, USER } from '../helpers/imap-message-context.js';
import { RawImap } from '../helpers/imap-raw.js';

/** Flags as a sorted list, without \\Recent (this session is the first to see the messages). */
function flagList(flags: Set<string> | undefined): string[] {
  return [...(flags ?? [])].filter((flag) => flag !== '\\Recent').sort();
}

function client(port: number): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASSWORD }, logger: false });
}

async function withClient(t: Test, port: number): Promise<ImapFlow> {
  const flow = client(port);
  await flow.connect();
  t.teardown(() => flow.logout().catch(() => undefined));
  return flow;
}

async function raw(t: Test, port: number): Promise<RawImap> {
  const imap = await RawImap.connect(port);
  t.teardown(() => imap.close());
  await imap.until(/^\* OK/);
  await imap.command('l', `LOGIN ${USER} ${PASSWORD}`);
  return imap;
}

/** A folder with the two messages, the first already \Seen, appended through imapflow. */
async function filled(t: Test): Promise<{ port: number; flow: ImapFlow }> {
  const { port } = await startMessageServer(t);
  const flow = await withClient(t, port);
  await flow.append('INBOX', PLAIN, ['\\Seen'], new Date('2024-03-05T10:00:00Z'));
  await flow.append('INBOX', MULTIPART, [], new Date('2024-03-06T10:00:00Z'));
  await flow.mailboxOpen('INBOX');
  return { port, flow };
}

t.test('imapflow: fetch of every item', async (t) => {
  const { flow } = await filled(t);
  const messages = await flow.fetchAll('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true, size: true, headers: ['subject'] });
  t.equal(messages.length, 2);
  const [plain, multi] = messages;
  t.equal(plain?.uid, 1);
  t.same(flagList(plain?.flags), ['\\Seen']);
  t.equal(plain?.size, Buffer.byteLength(PLAIN));
  t.equal((plain?.internalDate as Date).toISOString(), '2024-03-05T10:00:00.000Z');
  t.equal(plain?.envelope?.subject, 'Lunch on Friday');
  t.equal(plain?.envelope?.from?.[0]?.address, 'joe@example.com');
  t.equal(plain?.envelope?.messageId, '<lunch@example.com>');
  t.equal(plain?.headers?.toString(), 'Subject: Lunch on Friday\r\n\r\n');
  t.equal(multi?.envelope?.subject, 'Grüße and a file');
  t.equal(multi?.bodyStructure?.type, 'multipart/mixed');
  t.same(
    multi?.bodyStructure?.childNodes?.map((n) => [n.part, n.type, n.encoding]),
    [
      ['1', 'text/plain', 'quoted-printable'],
      ['2', 'application/octet-stream', 'base64'],
    ],
  );
});

t.test('imapflow: body parts, source with a partial, peek leaves \\Seen alone', async (t) => {
  const { flow } = await filled(t);
  const parts = await flow.fetchOne('2', { bodyParts: ['1', '2.mime'], source: { start: 0, maxLength: 40 } });
  t.ok(parts);
  if (!parts) return;
  t.equal(parts.bodyParts?.get('1')?.toString(), 'Viele Gr=C3=BC=C3=9Fe aus K=C3=B6ln');
  t.match(parts.bodyParts?.get('2.mime')?.toString(), /^Content-Type: application\/octet-stream; name="zeros.bin"\r\n/);
  t.equal(parts.source?.toString(), MULTIPART.slice(0, 40));
  const flags = await flow.fetchOne('2', { flags: true });
  t.same(flagList(flags ? flags.flags : undefined), [], 'imapflow peeks');
  // Downloading decodes the part (BINARY when offered, else the transfer encoding undone).
  const download = await flow.download('2', '2');
  const chunks: Buffer[] = [];
  for await (const chunk of download.content ?? []) chunks.push(chunk as Buffer);
  t.same(Buffer.concat(chunks), Buffer.from('a\0b\0c'));
});

t.test('imapflow: STORE in each form, COPY and MOVE with their UIDs, EXPUNGE', async (t) => {
  const { flow } = await filled(t);
  await flow.mailboxCreate('Archive');
  t.ok(await flow.messageFlagsAdd('2', ['\\Flagged', 'work']));
  t.ok(await flow.messageFlagsRemove('1', ['\\Seen']));
  t.ok(await flow.messageFlagsSet({ uid: '1' }, ['\\Answered'], { uid: true }));
  const flags = await flow.fetchAll('1:*', { flags: true });
  t.same(
    flags.map((m) => flagList(m.flags)),
    [['\\Answered'], ['\\Flagged', 'work']],
  );
  const copied = await flow.messageCopy('1:2', 'Archive');
  t.ok(copied);
  if (copied) t.same([...(copied.uidMap ?? new Map())], [[1, 1], [2, 2]]);
  const moved = await flow.messageMove('1', 'Archive', { uid: true });
  t.ok(moved);
  if (moved) t.same([...(moved.uidMap ?? new Map())], [[1, 3]]);
  t.equal(flow.mailbox && flow.mailbox.exists, 1, 'the moved message is gone from INBOX');
  t.ok(await flow.messageDelete('1'));
  t.equal(flow.mailbox && flow.mailbox.exists, 0);
  const archive = await flow.status('Archive', { messages: true });
  t.equal(archive && archive.messages, 3);
});

t.test('imapflow: SEARCH keys', async (t) => {
  const { flow } = await filled(t);
  t.same(await flow.search({ seen: true }), [1]);
  t.same(await flow.search({ seen: false }), [2]);
  t.same(await flow.search({ from: 'joe' }), [1]);
  t.same(await flow.search({ subject: 'grüße' }), [2]);
  t.same(await flow.search({ body: 'köln' }), [2]);
  t.same(await flow.search({ larger: Buffer.byteLength(PLAIN) }), [2]);
  t.same(await flow.search({ since: new Date('2024-03-06T00:00:00Z') }), [2]);
  t.same(await flow.search({ sentBefore: new Date('2003-07-02T00:00:00Z') }), [1]);
  t.same(await flow.search({ or: [{ from: 'joe' }, { to: 'team' }] }), [1, 2]);
  t.same(await flow.search({ uid: '2' }, { uid: true }), [2]);
  t.same(await flow.search({ header: { 'message-id': 'lunch' } }), [1]);
});

t.test('imapflow: CONDSTORE, changedSince and unchangedSince', async (t) => {
  const { flow } = await filled(t);
  const before = await flow.fetchAll('1:*', { uid: true, flags: true }, { changedSince: 1 });
  t.equal(before.length, 2);
  const modseq = before.reduce((top, m) => (m.modseq !== undefined && m.modseq > top ? m.modseq : top), 0n);
  t.ok(modseq > 0n, 'MODSEQ came with CHANGEDSINCE');
  await flow.messageFlagsAdd('2', ['\\Seen']);
  const changed = await flow.fetchAll('1:*', { uid: true, flags: true }, { changedSince: modseq });
  t.same(
    changed.map((m) => m.uid),
    [2],
  );
  // A conditional store against an older MODSEQ changes nothing.
  await flow.messageFlagsAdd('2', ['\\Flagged'], { unchangedSince: modseq });
  const after = await flow.fetchOne('2', { flags: true });
  t.notOk(after && after.flags?.has('\\Flagged'));
});

t.test('wire: FETCH answers, \\Seen by a body fetch, BINARY literal8', async (t) => {
  const { port } = await filled(t);
  const imap = await raw(t, port);
  await imap.command('s', 'SELECT INBOX');
  t.same(await imap.command('a', 'FETCH 2 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)] BINARY.SIZE[2])'), [
    '* 2 FETCH (FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {51}',
    'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and a file',
    '',
    ' BINARY.SIZE[2] 5)',
    'a OK Fetch completed',
  ]);
  const binary = await imap.command('b', 'FETCH 2 BINARY.PEEK[2]');
  t.equal(binary[0], '* 2 FETCH (BINARY[2] ~{5}');
  const seen = await imap.command('c', 'FETCH 2 BODY[1]<6.3>');
  t.same(seen, ['* 2 FETCH (FLAGS (\\Seen) BODY[1]<6> "Gr=")', 'c OK Fetch completed']);
  t.same(await imap.command('d', 'UID FETCH 2 FLAGS'), ['* 2 FETCH (UID 2 FLAGS (\\Seen))', 'd OK Fetch completed']);
  t.same(await imap.command('e', 'FETCH 3 FLAGS'), ['e BAD Invalid messageset']);
});

t.test('wire: COPYUID, MOVE order, EXPUNGE numbering, MODIFIED', async (t) => {
  const { port } = await filled(t);
  const imap = await raw(t, port);
  await imap.command('c', 'CREATE Archive');
  await imap.command('s', 'SELECT INBOX');
  const copy = await imap.command('a', 'COPY 1:2 Archive');
  t.match(copy.at(-1), /^a OK \[COPYUID \d+ 1:2 1:2\] /);
  t.match((await imap.command('b', 'COPY 1 Nowhere')).at(-1), /^b NO \[TRYCREATE\] /);
  const move = await imap.command('m', 'MOVE 1 Archive');
  t.equal(move.length, 3);
  t.match(move[0], /^\* OK \[COPYUID \d+ 1 3\] /);
  t.equal(move[1], '* 1 EXPUNGE');
  t.match(move[2], /^m OK /);
  await imap.command('f', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  t.same(await imap.command('x', 'EXPUNGE'), ['* 1 EXPUNGE', 'x OK Expunge completed']);
  await imap.command('s2', 'SELECT Archive');
  const store = await imap.command('u', 'STORE 1:2 (UNCHANGEDSINCE 1) +FLAGS (\\Flagged)');
  t.match(store.at(-1), /^u OK \[MODIFIED 1:2\] /);
  t.same(await imap.command('v', 'SEARCH RETURN (COUNT MIN) ALL'), ['* ESEARCH (TAG "v") MIN 1 COUNT 3', 'v OK Search completed']);
});

t.test('wire: QRESYNC resync with VANISHED (EARLIER)', async (t) => {
  const { port } = await filled(t);
  const imap = await raw(t, port);
  await imap.command('e', 'ENABLE QRESYNC');
  const select = await imap.command('s', 'SELECT INBOX');
  const highest = Number(/HIGHESTMODSEQ (\d+)/.exec(select.join('\n'))?.[1]);
  t.ok(highest > 0);
  await imap.command('f', 'UID STORE 1 +FLAGS.SILENT (\\Deleted)');
  t.same(await imap.command('x', 'UID EXPUNGE 1'), ['* VANISHED 1', 'x OK Expunge completed']);
  const resync = await imap.command('r', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest} VANISHED)`);
  t.equal(resync[0], '* VANISHED (EARLIER) 1');
  t.match(resync.at(-1), /^r OK /);
});

t.test('wire: COPY over quota is NO [OVERQUOTA] and changes nothing; MOVE, using no more, goes', async (t) => {
  const { port } = await startMessageServer(t, { quotaBytes: 1000 });
  const imap = await raw(t, port);
  const literal = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;
  t.match((await imap.command('a', `APPEND INBOX ${literal(PLAIN)}`)).at(-1), /^a OK /);
  t.match((await imap.command('b', `APPEND INBOX ${literal(MULTIPART)}`)).at(-1), /^b OK /);
  await imap.command('s', 'SELECT INBOX');
  t.match((await imap.command('c', 'COPY 1:2 Archive')).at(-1), /^c NO \[OVERQUOTA\] /);
  t.same(await imap.command('f', 'FETCH 1:* UID'), ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 2)', 'f OK Fetch completed']);
  t.match((await imap.command('x', 'STATUS Archive (MESSAGES)')).join('\n'), /MESSAGES 0/);
  const move = await imap.command('m', 'MOVE 1:2 Archive');
  t.match(move.at(-1), /^m OK /);
  t.match((await imap.command('y', 'STATUS Archive (MESSAGES)')).join('\n'), /MESSAGES 2/);
});

t.test('wire: CONDSTORE/QRESYNC resync after changes made while the client was away', async (t) => {
  const { port } = await filled(t);
  const first = await raw(t, port);
  await first.command('e', 'ENABLE QRESYNC');
  const select = await first.command('s', 'SELECT INBOX');
  const highest = Number(/HIGHESTMODSEQ (\d+)/.exec(select.join('\n'))?.[1]);
  first.close();
  // Meanwhile another client flags message 2 and expunges message 1.
  const other = await raw(t, port);
  await other.command('s', 'SELECT INBOX');
  await other.command('a', 'STORE 2 +FLAGS.SILENT (\\Flagged)');
  await other.command('b', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await other.command('c', 'EXPUNGE');
  const again = await raw(t, port);
  await again.command('e', 'ENABLE QRESYNC');
  await again.command('s', 'SELECT INBOX');
  const resync = await again.command('r', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest} VANISHED)`);
  t.equal(resync[0], '* VANISHED (EARLIER) 1');
  t.match(resync[1], /^\* 1 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/);
  t.match(resync.at(-1), /^r OK /);
  t.equal(resync.length, 3);
});

t.test('wire: an expunge in one session reaches the other at its next command that may tell it', async (t) => {
  const { port } = await filled(t);
  const one = await raw(t, port);
  const two = await raw(t, port);
  await one.command('s', 'SELECT INBOX');
  await two.command('s', 'SELECT INBOX');
  await one.command('a', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  t.same(await one.command('b', 'EXPUNGE'), ['* 1 EXPUNGE', 'b OK Expunge completed']);
  // RFC 3501 7.4.1: not during FETCH, STORE or SEARCH; the numbers the client knows still hold.
  t.same(await two.command('c', 'FETCH 2 UID'), ['* 2 FETCH (UID 2)', '* 1 FETCH (FLAGS (\\Seen \\Deleted))', 'c OK Fetch completed']);
  t.same(await two.command('d', 'SEARCH ALL'), ['* SEARCH 1 2', 'd OK Search completed']);
  t.same(await two.command('n', 'NOOP'), ['* 1 EXPUNGE', 'n OK NOOP completed']);
  t.same(await two.command('f', 'FETCH 1 UID'), ['* 1 FETCH (UID 2)', 'f OK Fetch completed']);
});
