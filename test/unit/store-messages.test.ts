// Message bytes in the store: written in pieces, committed to mailboxes and the queue in one batch,
// discarded on abort, swept after a crash, and numbered without gaps or repeats under load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CHUNK_SIZE, Store } from '../../src/store/index.js';
import type { MessageRecord } from '../../src/store/records.js';

/** The one thing the helpers need from a tap test: somewhere to hang clean-up. */
interface Test {
  teardown(fn: () => void | Promise<void>): void;
}

/** A fresh store location, removed (after `stores` are closed) when the test ends. */
function storeDir(tt: Test, stores: Store[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-messages-'));
  tt.teardown(async () => {
    for (const store of stores) await store.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return path.join(dir, 'store');
}

async function openStore(tt: Test): Promise<Store> {
  const stores: Store[] = [];
  const store = await Store.open(storeDir(tt, stores));
  stores.push(store);
  return store;
}

/** Bytes that differ from chunk to chunk, so a chunk out of order or repeated shows. */
/** Pseudo-random bytes without a bare LF (the store writes those as CRLF: see the test of that below). */
function sample(size: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24 === 0x0a ? 0x0b : x >>> 24;
  }
  return bytes;
}

async function writeInPieces(store: Store, bytes: Buffer, piece: number) {
  const writer = await store.createMessage();
  for (let at = 0; at < bytes.length; at += piece) await writer.write(bytes.subarray(at, at + piece));
  return writer;
}

async function readBack(store: Store, messageId: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of store.openMessage(messageId)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function chunkSizes(store: Store, messageId: string): Promise<number[]> {
  const values = await store.sub.bodies.values({ gt: `${messageId}\0`, lt: `${messageId}\0\uffff` }).all();
  return values.map((v) => v.byteLength);
}

t.test('a message written in odd-sized pieces reads back identically', async (t) => {
  const store = await openStore(t);
  const sizes = [0, 1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE - 1, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 1, 200 * 1024];
  const pieces = [1, 7, 4093, CHUNK_SIZE - 1, CHUNK_SIZE + 1, 100_000];
  for (const size of sizes) {
    const bytes = sample(size, size + 1);
    for (const piece of pieces) {
      if (piece === 1 && size > 2 * CHUNK_SIZE + 1) continue; // the 1-byte path is covered by the smaller sizes
      const writer = await writeInPieces(store, bytes, piece);
      t.equal(writer.size, size);
      const result = await writer.commit({ mailboxes: ['alice@example.com'] });
      const label = `${size} bytes in pieces of ${piece}`;
      t.equal(result.size, size, `${label}: committed size`);
      t.match(await store.getMessage(result.messageId), { id: result.messageId, size }, `${label}: stored size`);
      t.ok((await readBack(store, result.messageId)).equals(bytes), `${label}: same bytes`);
      const chunks = await chunkSizes(store, result.messageId);
      // Every chunk is full but the last, whatever the pieces were (db.ts: CHUNK_SIZE at a time).
      t.ok(chunks.slice(0, -1).every((n) => n === CHUNK_SIZE) && chunks.length === Math.max(1, Math.ceil(size / CHUNK_SIZE)), `${label}: chunks ${chunks.join(',')}`);
    }
  }
});

t.test('bare LF is stored as CRLF, across chunk boundaries, and the sizes count what is stored', async (t) => {
  const store = await openStore(t);
  // A bare LF on each side of the first chunk boundary, and a CRLF split across it in the second message.
  const bare = Buffer.concat([Buffer.from('Subject: x\n\n'), Buffer.alloc(CHUNK_SIZE - 13, 0x41), Buffer.from('\nend\n')]);
  const expected = Buffer.from(bare.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  for (const piece of [1, 5, CHUNK_SIZE - 12, 100_000]) {
    const writer = await writeInPieces(store, bare, piece);
    const result = await writer.commit({ mailboxes: ['alice@example.com'] });
    t.equal(result.size, expected.length, `pieces of ${piece}: size`);
    t.ok((await readBack(store, result.messageId)).equals(expected), `pieces of ${piece}: CRLF everywhere`);
  }
  const split = Buffer.from('a\r\nb\r\n');
  const writer = await store.createMessage();
  await writer.write(split.subarray(0, 2));
  await writer.write(split.subarray(2));
  const result = await writer.commit({ mailboxes: ['alice@example.com'] });
  t.ok((await readBack(store, result.messageId)).equals(split), 'a CRLF cut in two stays one CRLF');
});

t.test('a message created binary (an APPEND sent as literal8) is kept byte for byte, bare LFs and all', async (t) => {
  const store = await openStore(t);
  const bytes = Buffer.from('Content-Transfer-Encoding: binary\r\n\r\n\x00\n\x01\n\r\n', 'latin1');
  const writer = await store.createMessage({ binary: true });
  await writer.write(bytes);
  const result = await writer.commit({ mailboxes: ['alice@example.com'] });
  t.equal(result.size, bytes.length);
  t.ok((await readBack(store, result.messageId)).equals(bytes));
});

t.test('a message for two mailboxes is stored once, each mailbox numbering its own', async (t) => {
  const store = await openStore(t);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const writer = await writeInPieces(store, sample(CHUNK_SIZE + 10, i), 1000);
    ids.push((await writer.commit({ mailboxes: ['alice@example.com', 'bob@example.com'] })).messageId);
  }
  for (const user of ['alice@example.com', 'bob@example.com']) {
    const entries = await store.listMailbox(user, 'INBOX');
    t.same(entries.map((e) => [e.uid, e.messageId, e.size]), ids.map((id, i) => [i + 1, id, CHUNK_SIZE + 10]), `${user}: UIDs 1, 2, 3 in order`);
    t.match(entries[0], { flags: [], internalDate: Number });
  }
  for (const id of ids) {
    t.match(await store.sub.messages.get(id), { refs: 2, size: CHUNK_SIZE + 10, chunks: 2 }, `${id}: two references`);
    t.same(await chunkSizes(store, id), [CHUNK_SIZE, 10], `${id}: one copy of the bytes`);
  }
  t.equal((await store.sub.messages.keys().all()).length, 3);
  t.equal((await store.sub.bodies.keys().all()).length, 6);
});

t.test('a mailbox named twice in one disposition gets the message once', async (t) => {
  const store = await openStore(t);
  const writer = await writeInPieces(store, Buffer.from('hello'), 5);
  const { messageId } = await writer.commit({ mailboxes: ['alice@example.com', 'alice@example.com'] });
  t.equal((await store.listMailbox('alice@example.com', 'INBOX')).length, 1);
  t.match(await store.sub.messages.get(messageId), { refs: 1 });
});

t.test('a queue disposition creates a queue entry with every recipient queued', async (t) => {
  const store = await openStore(t);
  const bytes = sample(3000);
  const writer = await writeInPieces(store, bytes, 999);
  const before = Date.now();
  const result = await writer.commit({
    mailboxes: ['alice@example.com'],
    queue: {
      sender: 'alice@example.com',
      recipients: [
        { address: 'x@remote.test', dsn: { notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;X@remote.test' } },
        { address: 'y@remote.test' },
      ],
      ret: 'HDRS',
      envid: 'QQ314159',
    },
  });
  t.type(result.queueId, 'string');
  const queue = await store.listQueue();
  t.equal(queue.length, 1);
  const entry = queue[0]!;
  t.match(entry, {
    id: result.queueId,
    messageId: result.messageId,
    sender: 'alice@example.com',
    size: 3000,
    attempts: 0,
    ret: 'HDRS',
    envid: 'QQ314159',
  });
  t.ok(entry.createdAt >= before && entry.nextAttemptAt === entry.createdAt, 'due at once');
  t.same(
    entry.recipients.map((r) => [r.address, r.state, r.attempts, r.dsn]),
    [
      ['x@remote.test', 'queued', 0, { notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;X@remote.test' }],
      ['y@remote.test', 'queued', 0, undefined],
    ],
    'per-recipient state, DSN parameters kept',
  );
  t.same(await store.getQueueEntry(result.queueId!), entry);
  t.match(await store.sub.messages.get(result.messageId), { refs: 2 }, 'the mailbox entry and the queue entry');
  t.ok((await readBack(store, result.messageId)).equals(bytes));

  const queuedOnly = await writeInPieces(store, Buffer.from('to the queue only'), 4);
  const second = await queuedOnly.commit({ mailboxes: [], queue: { sender: '', recipients: [{ address: 'z@remote.test' }] } });
  const entry2 = await store.getQueueEntry(second.queueId!);
  t.match(entry2, { sender: '', recipients: [{ address: 'z@remote.test', state: 'queued' }] }, 'the null sender is kept as ""');
  t.notOk(entry2 && 'ret' in entry2, 'no RET when none was given');
  t.match(await store.sub.messages.get(second.messageId), { refs: 1 });
  t.same(await store.listMailbox('alice@example.com', 'INBOX').then((e) => e.length), 1);
});

t.test('a disposition with nowhere to go is refused', async (t) => {
  const store = await openStore(t);
  const writer = await writeInPieces(store, Buffer.from('hello'), 5);
  await t.rejects(writer.commit({ mailboxes: [] }), { code: 'INVALID' });
  await writer.abort();
  t.same(await store.sub.pending.keys().all(), []);
});

t.test('abort removes the chunks and the pending marker', async (t) => {
  const store = await openStore(t);
  const writer = await writeInPieces(store, sample(2 * CHUNK_SIZE + 500), 10_000);
  t.same(await store.sub.pending.keys().all(), [writer.messageId], 'marked pending while being written');
  t.equal((await chunkSizes(store, writer.messageId)).length, 2, 'full chunks are on disk already');
  await writer.abort();
  t.same(await store.sub.pending.keys().all(), []);
  t.same(await store.sub.bodies.keys().all(), []);
  t.equal(await store.getMessage(writer.messageId), null);
  await t.resolves(writer.abort(), 'a second abort resolves');
  t.same(await store.sub.pending.keys().all(), [], 'and leaves no pending marker');
  t.same(await store.sub.bodies.keys().all(), [], 'nor any chunk');
  await t.rejects(writer.commit({ mailboxes: ['alice@example.com'] }), { code: 'ABORTED' }, 'commit after abort');
  await t.rejects(writer.write(Buffer.from('more')), { code: 'ABORTED' }, 'write after abort');
  t.same(await store.listMailbox('alice@example.com', 'INBOX'), []);
});

t.test('a committed message cannot be committed again, and abort leaves it alone', async (t) => {
  const store = await openStore(t);
  const writer = await writeInPieces(store, Buffer.from('once'), 4);
  const { messageId } = await writer.commit({ mailboxes: ['alice@example.com'] });
  await t.rejects(writer.commit({ mailboxes: ['bob@example.com'] }), { code: 'ABORTED' });
  await writer.abort();
  t.equal((await readBack(store, messageId)).toString(), 'once');
  t.same(await store.listMailbox('bob@example.com', 'INBOX'), []);
});

t.test('a transfer cut off by a crash is swept at the next open', async (t) => {
  const stores: Store[] = [];
  const location = storeDir(t, stores);
  const first = await Store.open(location);
  stores.push(first);
  t.equal(first.swept, 0);
  const kept = await writeInPieces(first, sample(CHUNK_SIZE * 2, 7), 5000);
  const { messageId } = await kept.commit({ mailboxes: ['alice@example.com'] });
  const cut = await writeInPieces(first, sample(CHUNK_SIZE * 2 + 123, 8), 3333);
  // Bytes held in memory only (less than a chunk): a crash leaves nothing of them to sweep.
  await writeInPieces(first, Buffer.from('a few bytes'), 3);
  t.same(await first.sub.pending.keys().all(), [cut.messageId]);
  // The process dies: no commit, no abort.
  await first.close();

  const second = await Store.open(location);
  stores.push(second);
  t.equal(second.swept, 1);
  t.same(await second.sub.pending.keys().all(), [], 'no pending markers remain');
  t.same(await chunkSizes(second, cut.messageId), [], 'no chunks of the cut message remain');
  t.same(
    (await second.sub.bodies.keys().all()).map((key) => key.split('\0')[0]),
    [messageId, messageId],
    'only the committed message has bodies',
  );
  t.ok((await readBack(second, messageId)).equals(sample(CHUNK_SIZE * 2, 7)), 'the committed message is whole');
  t.same((await second.listMailbox('alice@example.com', 'INBOX')).map((e) => e.uid), [1]);
  await second.close();

  const third = await Store.open(location);
  stores.push(third);
  t.equal(third.swept, 0, 'nothing is swept twice');
});

t.test('concurrent commits to one mailbox get distinct consecutive UIDs and exact counters', async (t) => {
  const store = await openStore(t);
  await store.directory.addDomain('example.com');
  await store.directory.addUser('alice@example.com', 'correct horse battery');
  await store.directory.addUser('bob@example.com', 'correct horse battery');
  const count = 200;
  const results = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      // Sizes differ so a lost or doubled update of `bytes` shows; some messages are over a chunk.
      const size = i % 10 === 0 ? CHUNK_SIZE + i : 100 + i;
      const writer = await writeInPieces(store, sample(size, i), 777);
      const mailboxes = i % 2 === 0 ? ['alice@example.com', 'bob@example.com'] : ['alice@example.com'];
      return { size, mailboxes, result: await writer.commit({ mailboxes }) };
    }),
  );
  const entries = await store.listMailbox('alice@example.com', 'INBOX');
  t.same(entries.map((e) => e.uid), Array.from({ length: count }, (_, i) => i + 1), 'UIDs 1..200, no gaps, no repeats');
  t.equal(new Set(entries.map((e) => e.messageId)).size, count, 'every message once');
  const bobEntries = await store.listMailbox('bob@example.com', 'INBOX');
  t.same(bobEntries.map((e) => e.uid), Array.from({ length: count / 2 }, (_, i) => i + 1));

  const aliceBytes = results.reduce((sum, r) => sum + r.size, 0);
  const bobBytes = results.filter((r) => r.mailboxes.length === 2).reduce((sum, r) => sum + r.size, 0);
  t.same(
    (await store.directory.listUsers()).map((u) => [u.address, u.messages, u.bytes]),
    [['alice@example.com', count, aliceBytes], ['bob@example.com', count / 2, bobBytes]],
  );
  t.match(await store.getFolder('alice@example.com', 'INBOX'), { uidNext: count + 1, messages: count, unseen: count, bytes: aliceBytes, highestModseq: count + 1 });
  for (const { mailboxes, result } of results) {
    const record = (await store.sub.messages.get(result.messageId)) as MessageRecord;
    if (record.refs !== mailboxes.length) t.fail(`${result.messageId}: refs ${record.refs}, want ${mailboxes.length}`);
  }
  t.same(await store.sub.pending.keys().all(), [], 'nothing left pending');
});
