// The store check (`letterbox check`, and at start after an unclean stop): a store damaged on purpose,
// the way a power cut or a disk fault would, is found out, set aside and repaired; a sound one is left alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { CHUNK_SIZE, Store } from '../../src/store/index.js';
import { chunkKey } from '../../src/store/ids.js';
import type { FolderRecord, MessageRecord } from '../../src/store/records.js';

async function freshStore(t: Test): Promise<{ store: Store; location: string; reopen: () => Promise<Store> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-check-'));
  const location = path.join(dir, 'store');
  const opened: Store[] = [];
  t.teardown(async () => {
    for (const s of opened) await s.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const store = await Store.open(location);
  opened.push(store);
  // Damage is done while no service runs: reopening drops the folder records held in memory.
  const reopen = async () => {
    for (const s of opened.splice(0)) await s.close();
    const again = await Store.open(location);
    opened.push(again);
    return again;
  };
  return { store, location, reopen };
}

async function deliver(store: Store, size: number, mailboxes: string[], queued = false): Promise<string> {
  const writer = await store.createMessage();
  await writer.write(Buffer.alloc(size, 0x61));
  const result = await writer.commit({
    mailboxes,
    ...(queued ? { queue: { sender: 'a@example.com', recipients: [{ address: 'x@remote.test' }] } } : {}),
  });
  return result.messageId;
}

/** A folder's record as stored (schema 2: `folders` <user>\0<name>). */
async function folderRecord(store: Store, user: string, name = 'INBOX'): Promise<FolderRecord> {
  return (await store.sub.folders.get(`${user}\0${name}`)) as FolderRecord;
}

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

t.test('a sound store is reported consistent and left as it is', async (t) => {
  const { store } = await freshStore(t);
  await deliver(store, 100, [ALICE, BOB]);
  await deliver(store, 3 * CHUNK_SIZE + 5, [ALICE], true);
  const report = await store.check({ bodies: true });
  t.equal(report.consistent, true);
  t.match(report, { messages: 2, entries: 3, queueEntries: 1, chunks: 5, damaged: [], orphanChunks: 0, countersFixed: [] });
  t.equal((await store.listMailbox(ALICE, 'INBOX')).length, 2);
});

t.test('a message missing a chunk is set aside with its entries, never served', async (t) => {
  const { store } = await freshStore(t);
  const whole = await deliver(store, 100, [ALICE]);
  const broken = await deliver(store, 2 * CHUNK_SIZE + 10, [ALICE, BOB], true);
  await store.sub.bodies.del(chunkKey(broken, 1));

  const records = await store.check({ bodies: false });
  t.equal(records.consistent, true, 'a records-only check cannot see a missing chunk');

  const report = await store.check({ bodies: true });
  t.equal(report.consistent, false);
  t.equal(report.damaged.length, 1);
  t.match(report.damaged[0], { messageId: broken, reason: '2 of its 3 chunks are present' });
  t.same([...(report.damaged[0]?.entries ?? [])].sort(), [`${ALICE} INBOX 2`, `${BOB} INBOX 1`]);
  t.equal(report.damaged[0]?.queueIds.length, 1);
  t.same((await store.listMailbox(ALICE, 'INBOX')).map((e) => e.messageId), [whole], 'only the whole message is left');
  t.same(await store.listMailbox(BOB, 'INBOX'), []);
  t.same(await store.listQueue(), [], 'its queue entry is gone too');
  t.equal(await store.getMessage(broken), null);
  t.ok(await store.sub.damaged.get(broken), 'kept aside for the administrator');
  t.match(await folderRecord(store, ALICE), { messages: 1, unseen: 1, bytes: 100, uidNext: 3 }, 'counters follow; UIDs are not reused');
  t.equal((await store.check({ bodies: true })).consistent, true, 'a second check finds nothing');
});

t.test('a truncated chunk, a dangling entry, wrong counts and stray chunks are all repaired', async (t) => {
  const fresh = await freshStore(t);
  let store = fresh.store;
  const truncated = await deliver(store, 500, [ALICE]);
  const counted = await deliver(store, 300, [ALICE, BOB]);
  await store.sub.bodies.put(chunkKey(truncated, 0), new Uint8Array(20));
  const bobInbox = await folderRecord(store, BOB);
  await store.sub.entries.put(`${bobInbox.id}\0${'9'.padStart(10, '0')}`, { messageId: 'gone', size: 7, flags: [], internalDate: 0, modseq: 7 });
  const record = (await store.sub.messages.get(counted)) as MessageRecord;
  await store.sub.messages.put(counted, { ...record, refs: 5 });
  await store.sub.folders.put(`${BOB}\0INBOX`, { ...bobInbox, uidNext: 2, messages: 40, unseen: 0, bytes: 1 });
  await store.sub.bodies.put(chunkKey('stray', 0), new Uint8Array(3));
  store = await fresh.reopen();

  const report = await store.check({ bodies: true });
  t.equal(report.consistent, false);
  t.same(report.damaged.map((d) => [d.messageId, d.reason]).sort(), [
    ['gone', 'its message record is missing'],
    [truncated, 'its chunks hold 20 bytes, not 500'],
  ].sort());
  t.equal(report.orphanChunks, 1);
  t.equal(report.referenceCountsFixed, 1);
  t.same(report.countersFixed.sort(), [`${ALICE} INBOX`, `${BOB} INBOX`]);
  t.equal(((await store.sub.messages.get(counted)) as MessageRecord).refs, 2);
  t.match(await folderRecord(store, BOB), { messages: 1, unseen: 1, bytes: 300, uidNext: 10, highestModseq: 7 });
  t.equal(await store.sub.bodies.get(chunkKey('stray', 0)), undefined);
  t.equal((await store.check({ bodies: true })).consistent, true);
});

t.test('a message nobody points at is deleted; chunks of a running transfer are kept', async (t) => {
  const { store } = await freshStore(t);
  const lonely = await deliver(store, 50, [ALICE]);
  for (const key of await store.sub.entries.keys().all()) await store.sub.entries.del(key);
  const running = await store.createMessage();
  await running.write(Buffer.alloc(CHUNK_SIZE + 1));
  const report = await store.check({ bodies: true });
  t.equal(report.unreferenced, 1);
  t.equal(report.orphanChunks, 0, 'the transfer in progress keeps its chunk');
  t.equal(await store.getMessage(lonely), null);
  await running.commit({ mailboxes: [ALICE] });
  t.equal((await store.check({ bodies: true })).consistent, true);
});

t.test('the store remembers whether the service stopped cleanly', async (t) => {
  const { location, reopen } = await freshStore(t);
  const store = await reopen();
  t.equal(store.uncleanStop, false);
  await store.markRunning();
  await store.close();
  const clean = await Store.open(location);
  t.equal(clean.uncleanStop, false, 'closed: clean');
  await clean.markRunning();
  // No close(): as after a crash. LevelDB needs its lock back, so close without clearing the marker.
  await clean.db.close();
  const after = await Store.open(location);
  t.equal(after.uncleanStop, true, 'left marked: unclean');
  await after.close();
});
