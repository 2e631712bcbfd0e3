// A 10,000-message folder costs little once selected: the live state is arrays of numbers (and the
// message ids the store already holds), not an object per message; FETCH of every message's FLAGS,
// RFC822.SIZE and ENVELOPE goes through in batches and leaves nothing behind.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import t from 'tap';
import { fetchAll, MAKERS, message } from '../helpers/mailbox-backends.js';
import type { MemoryFolderStore } from '../helpers/memory-folder-store.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap in use once what is garbage is gone (a few rounds: weak and finalised things take more than one). */
const heap = async () => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
};

const COUNT = 10_000;
const memory = MAKERS.find(({ kind }) => kind === 'memory');

t.test('10,000 messages: select and fetch', { skip: memory ? false : 'memory store not selected' }, async (t) => {
  const f = await memory!.make({});
  t.teardown(() => f.close());
  const store = f.store as MemoryFolderStore;
  for (let i = 1; i <= COUNT; i++) {
    await store.appendBytes('alice@example.com', 'INBOX', message(`message ${i}`, `Body ${i}.\r\n`), { flags: i % 3 === 0 ? ['\\Seen'] : i % 7 === 0 ? ['\\Seen', '$Work'] : [] });
  }
  const account = await f.login();

  const before = await heap();
  let started = performance.now();
  const inbox = await account.select('INBOX', { readOnly: false });
  const selectMs = performance.now() - started;
  const selected = (await heap()) - before;
  t.equal(inbox.recent.length, COUNT);
  t.ok(selected < 3 * 1024 * 1024, `the live state of ${COUNT} messages: ${(selected / 1024).toFixed(0)} KiB (select ${selectMs.toFixed(0)} ms)`);

  // The server asks for the snapshot's objects once; they are the session's, made on demand.
  t.equal(inbox.messages.length, COUNT);

  const uids = inbox.messages.map((m) => m.uid);
  const beforeFetch = await heap();
  started = performance.now();
  let count = 0;
  let bytes = 0;
  for await (const view of inbox.fetch(uids, { index: true, content: false })) {
    count += 1;
    bytes += view.size + view.flags.length;
    if ((view.envelope() as unknown[])[1] !== `message ${view.uid}`) t.fail(`envelope of ${view.uid}`);
  }
  const fetchMs = performance.now() - started;
  t.equal(count, COUNT);
  t.ok(bytes > 0);
  t.ok(fetchMs < 10_000, `UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE) over ${COUNT}: ${fetchMs.toFixed(0)} ms`);
  const kept = (await heap()) - beforeFetch;
  t.ok(kept < 6 * 1024 * 1024, `kept after the fetch: the envelope cache, ${(kept / 1024).toFixed(0)} KiB`);
  started = performance.now();
  for await (const view of inbox.fetch(uids, { index: false, content: false })) count += view.uid > 0 ? 0 : 1;
  t.comment(`FLAGS RFC822.SIZE alone: ${(performance.now() - started).toFixed(0)} ms`);

  // ENVELOPE alone: the second time, from the cache of rendered envelopes, no index read.
  let indexReads = 0;
  const messageIndexes = store.messageIndexes.bind(store);
  store.messageIndexes = async (ids) => {
    indexReads += ids.length;
    return messageIndexes(ids);
  };
  started = performance.now();
  let cached = 0;
  for await (const view of inbox.fetch(uids, { index: true, content: false, envelopeOnly: true })) {
    if ((view.envelope() as unknown[])[1] === `message ${view.uid}`) cached += 1;
  }
  t.equal(cached, COUNT);
  t.equal(indexReads, 0, `ENVELOPE from the cache: ${(performance.now() - started).toFixed(0)} ms, no index read`);
  t.equal((await fetchAll(inbox, [1])).length, 1);
  t.equal(indexReads, 1, 'other fetches still read the index');

  // Expunging half keeps the state consistent and smaller.
  await inbox.store(uids.filter((uid) => uid % 2 === 0), 'add', ['\\Deleted']);
  t.equal((await inbox.expunge()).length, COUNT / 2);
  t.same((await fetchAll(inbox, [1, 2, 3, 4], false)).map((view) => view.uid), [1, 3]);
  inbox.close();
});
