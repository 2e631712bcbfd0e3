// Schema 1 -> 2: a store written in the version 1 layout (built here key by key with `level`, as db.ts
// documents it) opens as version 2 with every UID, UIDVALIDITY and message kept, the default folders
// made, counters counted, and every message indexed once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Level } from 'level';
import { indexBuffer, MimeIndexer } from '../../src/mailbox/mime/index.js';
import { CHUNK_SIZE, SCHEMA_VERSION, Store } from '../../src/store/index.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const indexer = () => new MimeIndexer();

function message(subject: string, bodyBytes: number): Buffer {
  const head = `From: Someone <someone@remote.test>\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n`;
  return Buffer.from(`${head}${'z'.repeat(bodyBytes)}\r\n--b--\r\n`);
}

const SHARED = { id: '0000000aashared01', bytes: message('shared', 100) };
const LONG = { id: '0000000bblong0002', bytes: message('long', CHUNK_SIZE + 5_000) };
const SEEN = { id: '0000000ccseen0003', bytes: message('seen', 10) };

/** A version 1 store: alice's INBOX (UIDs 1, 3, 4; uidNext 6), bob's INBOX (UID 1), carol with no mailbox record. */
async function writeV1Store(location: string): Promise<void> {
  const db = new Level<string, unknown>(location, { valueEncoding: 'json' });
  await db.open();
  const json = (name: string) => db.sublevel<string, unknown>(name, { valueEncoding: 'json' });
  const bodies = db.sublevel<string, Uint8Array>('bodies', { valueEncoding: 'view' });
  await json('meta').put('schema', 1);
  await json('domains').put('example.com', { addedAt: 1 });
  for (const user of [ALICE, BOB, CAROL]) await json('users').put(user, { address: user, passwordHash: 'x', quota: 0, createdAt: 1 });
  for (const [m, refs] of [[SHARED, 2], [LONG, 1], [SEEN, 1]] as const) {
    const chunks = Math.ceil(m.bytes.length / CHUNK_SIZE);
    await json('messages').put(m.id, { size: m.bytes.length, chunks, refs, receivedAt: 1_600_000_000_000 });
    for (let i = 0; i < chunks; i++) {
      await bodies.put(`${m.id}\0${i.toString(16).padStart(8, '0')}`, m.bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE));
    }
  }
  const entries = json('entries');
  const entry = (m: { id: string; bytes: Buffer }, flags: string[]) => ({ messageId: m.id, size: m.bytes.length, flags, internalDate: 1_600_000_000_000 });
  await entries.put(`${ALICE}\0INBOX\0${'1'.padStart(10, '0')}`, entry(SHARED, []));
  await entries.put(`${ALICE}\0INBOX\0${'3'.padStart(10, '0')}`, entry(LONG, ['\\Flagged']));
  await entries.put(`${ALICE}\0INBOX\0${'4'.padStart(10, '0')}`, entry(SEEN, ['\\Seen']));
  await entries.put(`${BOB}\0INBOX\0${'1'.padStart(10, '0')}`, entry(SHARED, ['\\Seen']));
  const aliceBytes = SHARED.bytes.length + LONG.bytes.length + SEEN.bytes.length;
  await json('mailboxes').put(`${ALICE}\0INBOX`, { uidValidity: 1_600_000_000, uidNext: 6, messages: 3, bytes: aliceBytes });
  await json('mailboxes').put(`${BOB}\0INBOX`, { uidValidity: 1_600_000_100, uidNext: 2, messages: 1, bytes: SHARED.bytes.length });
  await db.close();
}

function location(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-migration-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'store');
}

t.test('a version 1 store opens as version 2 with everything kept', async (t) => {
  const where = location(t);
  await writeV1Store(where);
  const store = await Store.open(where, { indexer });
  t.teardown(() => store.close());
  t.equal(SCHEMA_VERSION, 2);
  t.equal(await store.sub.meta.get('schema'), 2);

  for (const user of [ALICE, BOB, CAROL]) {
    const folders = await store.listFolders(user);
    t.same(folders.map((f) => [f.name, f.specialUse, f.subscribed]), [
      ['INBOX', null, true], ['Archive', '\\Archive', true], ['Drafts', '\\Drafts', true], ['Junk', '\\Junk', true], ['Sent', '\\Sent', true], ['Trash', '\\Trash', true],
    ], `${user}: the six folders`);
  }
  const aliceInbox = await store.getFolder(ALICE, 'INBOX');
  t.match(aliceInbox, { uidValidity: 1_600_000_000, uidNext: 6, highestModseq: 1, messages: 3, unseen: 2, bytes: SHARED.bytes.length + LONG.bytes.length + SEEN.bytes.length });
  t.match(await store.getFolder(BOB, 'INBOX'), { uidValidity: 1_600_000_100, uidNext: 2, highestModseq: 1, messages: 1, unseen: 0 });
  t.same((await store.listEntries(aliceInbox?.id as string)).map((e) => [e.uid, e.messageId, e.flags, e.modseq, e.internalDate]), [
    [1, SHARED.id, [], 1, 1_600_000_000_000],
    [3, LONG.id, ['\\Flagged'], 1, 1_600_000_000_000],
    [4, SEEN.id, ['\\Seen'], 1, 1_600_000_000_000],
  ], 'every UID kept, MODSEQ 1');
  t.same((await store.listMailbox(BOB, 'INBOX')).map((e) => [e.uid, e.messageId]), [[1, SHARED.id]]);

  const indexes = await store.messageIndexes([SHARED.id, LONG.id, SEEN.id]);
  t.same(indexes, [indexBuffer(SHARED.bytes), indexBuffer(LONG.bytes), indexBuffer(SEEN.bytes)].map((i) => JSON.parse(JSON.stringify(i))), 'each message indexed from its chunks');
  t.equal((await store.sub.indexes.keys().all()).length, 3, 'the shared message once');
  t.same(await store.sub.mailboxes.keys().all(), [], 'the version 1 records are gone');
  t.equal((await store.sub.entries.keys().all()).length, 4, 'and their entries replaced');
  t.match(await store.sub.messages.get(SHARED.id), { refs: 2 });
  t.equal((await store.check({ bodies: true })).consistent, true, 'the check finds a sound store');

  const writer = await store.createMessage();
  await writer.write(message('new', 5));
  await writer.commit({ mailboxes: [ALICE] });
  t.match(await store.getFolder(ALICE, 'INBOX'), { uidNext: 7, highestModseq: 2, messages: 4 }, 'the next UID after the kept uidNext');
  const made = await store.createFolder(ALICE, 'New');
  const all = [...(await store.listFolders(ALICE)), ...(await store.listFolders(BOB))];
  t.equal(new Set(all.map((f) => f.uidValidity)).size, all.length, 'no UIDVALIDITY given twice');
  t.ok(made.uidValidity > 1_600_000_100);
});

t.test('migrated without an indexer, the check indexes later; a version 2 store is not migrated again', async (t) => {
  const where = location(t);
  await writeV1Store(where);
  const bare = await Store.open(where);
  const ids = (await bare.listFolders(ALICE)).map((f) => f.id);
  t.same(await bare.sub.indexes.keys().all(), [], 'nothing indexed without an indexer');
  t.match(await bare.check({ bodies: false }), { consistent: true, unindexed: 3 }, 'reported, not a fault');
  await bare.close();
  const store = await Store.open(where, { indexer });
  t.teardown(() => store.close());
  t.same((await store.listFolders(ALICE)).map((f) => f.id), ids, 'the same folders: no second migration');
  t.match(await store.check({ bodies: false }), { consistent: false, reindexed: 3, unindexed: 0 });
  t.equal((await store.sub.indexes.keys().all()).length, 3);
});

t.test('a store newer than this Letterbox is refused', async (t) => {
  const where = location(t);
  const store = await Store.open(where);
  await store.sub.meta.put('schema', SCHEMA_VERSION + 1);
  await store.close();
  await t.rejects(Store.open(where), { code: 'STORE_FAILED', message: /newer than this Letterbox/ });
});
