// Folder listings (src/store/folder-listings.ts): a large folder's entries in one record across a clean
// restart, used only while they match the folder, taken once, cleared by a check that repairs; and message
// summaries written at commit when Store.open is given a summarizer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { FolderRecord } from '../../src/store/records.js';
import { packListing, unpackListing } from '../../src/store/folder-listings.js';
import { Store, type StoreOptions } from '../../src/store/index.js';

const ALICE = 'alice@example.com';

function record(over: Partial<FolderRecord> = {}): FolderRecord {
  return { id: 'f1', uidValidity: 7, uidNext: 4, highestModseq: 9, messages: 2, unseen: 1, bytes: 30, specialUse: null, subscribed: true, createdAt: 1, ...over };
}

const ENTRIES = [
  { uid: 1, messageId: 'm1', size: 10, flags: ['\\Seen'], internalDate: 1000, modseq: 3 },
  { uid: 3, messageId: 'm3', size: 20, flags: [], internalDate: 2000, modseq: 9 },
];

t.test('a listing gives the entries back only for the folder as it was', async (t) => {
  const text = packListing(record(), ENTRIES);
  t.same(unpackListing(text, record()), ENTRIES);
  for (const changed of [{ highestModseq: 10 }, { uidNext: 5 }, { messages: 1 }, { bytes: 31 }, { unseen: 0 }]) {
    t.equal(unpackListing(text, record(changed)), null, `stale after ${Object.keys(changed)[0]} changed`);
  }
  t.equal(unpackListing('{not json', record()), null, 'unreadable');
  t.equal(unpackListing(JSON.stringify({ ...JSON.parse(text), flags: [0] }), record()), null, 'columns of unequal length');
});

function location(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-listings-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'store');
}

async function storeWithMail(where: string, count: number, options: StoreOptions = {}): Promise<Store> {
  const store = await Store.open(where, options);
  await store.directory.addDomain('example.com');
  await store.directory.addUser(ALICE, 'correct horse battery');
  for (let i = 0; i < count; i++) {
    const writer = await store.createMessage();
    await writer.write(Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
    await store.append(ALICE, 'INBOX', writer, { flags: i % 2 ? ['\\Seen'] : [], internalDate: 1000 + i });
  }
  return store;
}

t.test('a clean stop leaves a listing that the next start takes once', async (t) => {
  const where = location(t);
  let store = await storeWithMail(where, 5);
  await store.markRunning();
  const inbox = (await store.getFolder(ALICE, 'INBOX'))!;
  const before = await store.listEntries(inbox.id);
  await store.folders.entries.listings.saveAll(1);
  t.ok(await store.sub.listings.get(inbox.id), 'written');
  await store.close();
  store = await Store.open(where);
  t.teardown(() => store.close());
  t.same(await store.listEntries(inbox.id), before, 'the same entries from the listing');
  await store.lane.settled();
  t.equal(await store.sub.listings.get(inbox.id), undefined, 'taken: deleted as read');
  t.same(await store.listEntries(inbox.id), before, 'and from the entries again');
});

t.test('a listing that no longer matches is not used; check clears them all', async (t) => {
  const store = await storeWithMail(location(t), 4);
  t.teardown(() => store.close());
  const inbox = (await store.getFolder(ALICE, 'INBOX'))!;
  await store.listEntries(inbox.id);
  await store.folders.entries.listings.saveAll(1);
  await store.setFlags(inbox.id, [{ uid: 1, flags: ['\\Flagged'] }]);
  const listed = await store.listEntries(inbox.id);
  t.same(listed.find((entry) => entry.uid === 1)?.flags, ['\\Flagged'], 'the flags as changed, not as listed');
  await store.folders.entries.listings.saveAll(1);
  t.ok(await store.sub.listings.get(inbox.id));
  t.ok((await store.check({ bodies: false })).consistent);
  t.ok(await store.sub.listings.get(inbox.id), 'a check that repairs nothing keeps them');
  await store.sub.messages.del(listed[0]!.messageId);
  t.notOk((await store.check({ bodies: false })).consistent);
  t.equal(await store.sub.listings.get(inbox.id), undefined, 'a check that repairs leaves none');
});

t.test('a small folder gets no listing', async (t) => {
  const store = await storeWithMail(location(t), 2);
  t.teardown(() => store.close());
  const inbox = (await store.getFolder(ALICE, 'INBOX'))!;
  await store.listEntries(inbox.id);
  await store.folders.entries.listings.saveAll();
  t.equal(await store.sub.listings.get(inbox.id), undefined);
});

t.test('summaries are written at commit for mail in a mailbox, when a summarizer is given', async (t) => {
  const indexer = () => ({ write: () => undefined, end: () => ({ made: true }) });
  const store = await storeWithMail(location(t), 1, { indexer, summarize: (index) => `S${JSON.stringify(index)}` });
  t.teardown(() => store.close());
  const [entry] = await store.listEntries((await store.getFolder(ALICE, 'INBOX'))!.id);
  t.same(await store.messageSummaries([entry!.messageId]), ['S{"made":true}'], 'APPEND');
  const delivered = await store.createMessage();
  await delivered.write(Buffer.from('Subject: d\r\n\r\nx\r\n'));
  const { messageId } = await delivered.commit({ mailboxes: [ALICE] });
  t.same(await store.messageSummaries([messageId]), ['S{"made":true}'], 'delivery');
  const relayed = await store.createMessage();
  await relayed.write(Buffer.from('Subject: r\r\n\r\nx\r\n'));
  const queued = await relayed.commit({ mailboxes: [], queue: { sender: 'a@example.com', recipients: [{ address: 'b@example.org' }] } });
  t.same(await store.messageSummaries([queued.messageId]), [null], 'none for mail only queued');
});

t.test('a summarizer that throws costs only the summary', async (t) => {
  const indexer = () => ({ write: () => undefined, end: () => ({}) });
  const store = await storeWithMail(location(t), 1, { indexer, summarize: () => { throw new Error('no'); } });
  t.teardown(() => store.close());
  const [entry] = await store.listEntries((await store.getFolder(ALICE, 'INBOX'))!.id);
  t.same(await store.messageSummaries([entry!.messageId]), [null]);
});
