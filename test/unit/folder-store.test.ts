// The FolderStore contract on the LevelDB store, and what only the LevelDB store can show: every change
// is still there after close and reopen, messages are indexed as they are written, ranges read only
// their chunks, and `letterbox check` finds a store changed through folders consistent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { MimeIndexer } from '../../src/mailbox/mime/index.js';
import { CHUNK_SIZE, Store } from '../../src/store/index.js';
import { folderStoreContract, readAll, type FolderStoreHarness } from '../helpers/folder-store-contract.js';

const PASSWORD = 'correct horse battery';
const indexer = () => new MimeIndexer();

function storeLocation(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-folders-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'store');
}

async function leveldbHarness(t: Test): Promise<FolderStoreHarness & { location: string; reopen(): Promise<Store> }> {
  const location = storeLocation(t);
  let store = await Store.open(location, { indexer });
  let domainAdded = false;
  return {
    location,
    get store() {
      return store;
    },
    createMessage: () => store.createMessage(),
    async addUser(address, quota = 0) {
      if (!domainAdded) await store.directory.addDomain('example.com');
      domainAdded = true;
      return (await store.directory.addUser(address, PASSWORD, quota)).address;
    },
    async reopen() {
      await store.close();
      store = await Store.open(location, { indexer });
      return store;
    },
    close: () => store.close(),
  };
}

t.test('the FolderStore contract on LevelDB', async (t) => {
  folderStoreContract(t, leveldbHarness);
});

function mail(subject: string, body: string): Buffer {
  return Buffer.from(`From: a@example.test\r\nSubject: ${subject}\r\nContent-Type: text/plain\r\n\r\n${body}`);
}

t.test('every change survives close and reopen', async (t) => {
  const harness = await leveldbHarness(t);
  t.teardown(() => harness.close());
  const alice = await harness.addUser('alice@example.com', 10_000_000);
  let store = harness.store as Store;
  await store.createFolder(alice, 'Projects/Alpha');
  const writer = await store.createMessage();
  await writer.write(mail('kept', 'x'.repeat(100)));
  const { entry, folder } = await store.append(alice, 'Projects/Alpha', writer, { flags: ['\\Seen'], internalDate: 1_700_000_000_000 });
  const copy = await store.copy(folder.id, [entry.uid], (await store.getFolder(alice, 'Archive'))?.id as string, false);
  await store.setFlags(folder.id, [{ uid: entry.uid, flags: ['\\Seen', '\\Answered'] }]);
  await store.renameFolder(alice, 'Projects', 'Old projects');
  await store.setSubscribed(alice, 'Old projects/Alpha', true);
  const archive = await store.getFolder(alice, 'Archive');
  await store.expunge(archive?.id as string, [copy.pairs[0]?.[1] as number]);
  const before = await store.listFolders(alice);

  store = await harness.reopen();
  t.same(await store.listFolders(alice), before, 'every folder record as it was');
  const alpha = await store.getFolder(alice, 'Old projects/Alpha');
  t.match(alpha, { id: folder.id, subscribed: true, messages: 1, unseen: 0 });
  t.match(await store.listEntries(folder.id), [{ uid: 1, flags: ['\\Seen', '\\Answered'], internalDate: 1_700_000_000_000 }]);
  t.same(await store.vanishedSince(archive?.id as string, 0), [1]);
  t.same(await readAll(store, entry.messageId), mail('kept', 'x'.repeat(100)));
  t.ok((await store.messageIndexes([entry.messageId]))[0], 'the index too');
  // A folder made after the reopen still gets a UIDVALIDITY never given before.
  const made = await store.createFolder(alice, 'New');
  t.ok(before.every((f) => f.uidValidity !== made.uidValidity));
  t.equal((await store.check({ bodies: true })).consistent, true, 'and the check agrees with all of it');
});

t.test('a delivery is indexed as written, announced, and counted for the user list', async (t) => {
  const harness = await leveldbHarness(t);
  t.teardown(() => harness.close());
  const alice = await harness.addUser('alice@example.com');
  const bob = await harness.addUser('bob@example.com');
  const store = harness.store as Store;
  const heard: string[] = [];
  store.onChange((c) => heard.push(`${c.kind} ${c.user}`));
  const writer = await store.createMessage();
  const bytes = mail('large', 'y'.repeat(3 * CHUNK_SIZE));
  for (let at = 0; at < bytes.length; at += 10_000) await writer.write(bytes.subarray(at, at + 10_000));
  const { messageId } = await writer.commit({ mailboxes: [alice, bob] });
  t.same(heard.sort(), [`appended ${alice}`, `appended ${bob}`]);
  const [index] = (await store.messageIndexes([messageId])) as { size?: number; root?: { body?: { length: number } } }[];
  t.ok(index, 'indexed in the commit batch');
  t.same(await store.sub.indexes.keys().all(), [messageId], 'one index for the message in two users');
  const start = CHUNK_SIZE - 5;
  t.same(await readAll(store, messageId, { start, end: 2 * CHUNK_SIZE + 7 }), bytes.subarray(start, 2 * CHUNK_SIZE + 7), 'a range across chunks');
  t.same(await readAll(store, messageId, { start: bytes.length - 3, end: bytes.length + 100 }), bytes.subarray(bytes.length - 3), 'a range past the end stops there');
  await store.append(alice, 'Sent', await (async () => {
    const w = await store.createMessage();
    await w.write(mail('sent', 'z'));
    return w;
  })(), { flags: ['\\Seen'] });
  const users = Object.fromEntries((await store.directory.listUsers()).map((u) => [u.address, [u.messages, u.bytes]]));
  t.same(users[alice], [2, bytes.length + mail('sent', 'z').length], 'user list counts every folder');
  t.match(await store.directory.quotaState(alice), { messages: 2, quota: 0 });
  t.equal(await store.directory.quotaState('nobody@example.com'), null);
  await store.directory.deleteUser(alice);
  t.match(await store.sub.messages.get(messageId), { refs: 1 }, "bob's entry holds the message");
  await store.directory.deleteUser(bob);
  t.same(await store.sub.indexes.keys().all(), [], 'the index goes with the message');
  t.same(await store.sub.folders.keys().all(), [], 'no folder left');
  t.equal((await store.check({ bodies: true })).consistent, true);
});

t.test('the check re-indexes a message without an index, and deletes an index of nothing', async (t) => {
  const harness = await leveldbHarness(t);
  t.teardown(() => harness.close());
  const alice = await harness.addUser('alice@example.com');
  let store = harness.store as Store;
  const writer = await store.createMessage();
  await writer.write(mail('x', 'body'));
  const { messageId } = await writer.commit({ mailboxes: [alice] });
  const index = await store.sub.indexes.get(messageId);
  await store.sub.indexes.del(messageId);
  await store.sub.indexes.put('gone-message', { stale: true });
  store = await harness.reopen();
  const report = await store.check({ bodies: false });
  t.match(report, { consistent: false, reindexed: 1, staleIndexes: 1, unindexed: 0 });
  t.same(await store.sub.indexes.get(messageId), index, 'the same index as at delivery');
  t.equal(await store.sub.indexes.get('gone-message'), undefined);
  t.equal((await store.check({ bodies: false })).consistent, true);
});

t.test('appends at once share batches: UIDs and MODSEQs without gaps, and a refusal fails only its own', async (t) => {
  const harness = await leveldbHarness(t);
  t.teardown(() => harness.close());
  const body = mail('same size', 'x'.repeat(200));
  const alice = await harness.addUser('alice@example.com', body.length * 30);
  const store = harness.store as Store;
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, async () => {
      const writer = await store.createMessage();
      await writer.write(body);
      return store.append(alice, 'INBOX', writer, { flags: [] });
    }),
  );
  const kept = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected');
  t.equal(kept.length, 30, 'as many as the quota holds');
  t.ok(refused.every((r) => (r.reason as { code?: string }).code === 'TOO_LARGE'), 'the rest refused for quota');
  const inbox = await store.getFolder(alice, 'INBOX');
  const entries = await store.listEntries(inbox?.id as string);
  t.same(entries.map((e) => e.uid), Array.from({ length: 30 }, (_, i) => i + 1));
  t.same(entries.map((e) => e.modseq), Array.from({ length: 30 }, (_, i) => i + 2), 'one MODSEQ per append');
  t.match(inbox, { messages: 30, uidNext: 31, highestModseq: 31, bytes: body.length * 30 });
  t.equal((await store.sub.messages.keys().all()).length, 30, 'nothing of the refused ones is kept');
  t.same(await store.sub.pending.keys().all(), []);
  t.equal((await store.check({ bodies: true })).consistent, true);
});
