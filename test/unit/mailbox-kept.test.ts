// What spares a client's next sync the work of the last one: a folder no session holds stays loaded and
// current (live-folders.ts), and an envelope-only FETCH saves each ENVELOPE as the message's summary in
// the store (fetch.ts), so the next one, after a restart too, reads no index.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { FolderStore } from '../../src/core/interfaces.js';
import type { SelectedFolder } from '../../src/imap/backend.js';
import { createImapBackend } from '../../src/mailbox/index.js';
import { LiveFolders } from '../../src/mailbox/live-folders.js';
import { MimeIndexer } from '../../src/mailbox/mime/index.js';
import { Store } from '../../src/store/index.js';
import { ALICE, CLIENT, message, PASSWORD } from '../helpers/mailbox-backends.js';

interface Counted {
  store: FolderStore;
  calls: Record<string, number>;
}

/** The store with its reads counted. */
function counted(store: Store): Counted {
  const calls: Record<string, number> = { listEntries: 0, messageIndexes: 0, messageSummaries: 0 };
  const wrapper = Object.create(store) as Store;
  for (const name of Object.keys(calls)) {
    const original = (store as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(store);
    (wrapper as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls[name]! += 1;
      return original(...args);
    };
  }
  return { store: wrapper, calls };
}

async function openStore(t: Test): Promise<{ store: Store; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'letterbox-kept-'));
  const store = await Store.open(join(dir, 'store'), { indexer: () => new MimeIndexer() });
  await store.directory.addDomain('example.com');
  await store.directory.addUser(ALICE, PASSWORD);
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, dir };
}

function backendOn(folders: FolderStore, store: Store) {
  const guard = { begin: () => ({ admitted: true as const, attempt: { succeeded() {}, failed: () => 0, abandoned() {} } }) };
  return createImapBackend({ folders, mail: store, authenticator: { authenticate: async (user: string) => user }, loginGuard: guard, appendLimit: 0 });
}

async function envelopes(selected: SelectedFolder, uids: number[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const view of selected.fetch(uids, { index: true, content: false, envelopeOnly: true })) out.push(view.envelope());
  return out;
}

t.test('a folder no session holds stays loaded and current', async (t) => {
  const { store } = await openStore(t);
  const { store: folders, calls } = counted(store);
  const backend = backendOn(folders, store);
  t.teardown(() => backend.stop());
  const live = (backend as unknown as { live: LiveFolders }).live;
  const account = await backend.login(ALICE, PASSWORD, CLIENT);
  await account.append('INBOX', Buffer.from(message('one')), [], null);
  const first = await account.select('INBOX', { readOnly: false });
  first.close();
  t.equal(live.size, 0, 'no session holds it');
  t.equal(live.kept, 1, 'but it is kept');
  await account.append('INBOX', Buffer.from(message('two')), ['\\Seen'], null);
  const again = await account.select('INBOX', { readOnly: true });
  t.same(again.messages.map((m) => [m.uid, m.flags]), [[1, []], [2, ['\\Seen']]], 'what came meanwhile is there');
  t.equal(calls.listEntries, 1, 'loaded once');
  again.close();
  await account.createFolder('Old');
  (await account.select('Old', { readOnly: true })).close();
  t.equal(live.kept, 2);
  await account.deleteFolder('Old');
  t.equal(live.kept, 1, 'a deleted folder is forgotten');
});

t.test('kept folders are bounded by their messages in all', async (t) => {
  const { store } = await openStore(t);
  const live = new LiveFolders(store, 10, () => {}, 2);
  t.teardown(() => live.stop());
  for (const name of ['A', 'B', 'C']) {
    await store.createFolder(ALICE, name);
    const writer = await store.createMessage();
    await writer.write(Buffer.from(message(name)));
    await store.append(ALICE, name, writer, { flags: [] });
  }
  for (const name of ['A', 'B', 'C']) {
    const folder = (await store.getFolder(ALICE, name))!;
    live.release(await live.acquire(ALICE, name, folder.id));
  }
  t.equal(live.kept, 2, 'two messages in all: the first released went');
  t.equal(live.loaded((await store.getFolder(ALICE, 'A'))!.id), null);
  t.not(live.loaded((await store.getFolder(ALICE, 'C'))!.id), null);
});

t.test('an envelope-only fetch saves summaries, and the next backend reads them, not the indexes', async (t) => {
  const { store } = await openStore(t);
  const account = await backendOn(store, store).login(ALICE, PASSWORD, CLIENT);
  for (const subject of ['a', 'b', 'c']) await account.append('INBOX', Buffer.from(message(subject)), [], null);
  const selected = await account.select('INBOX', { readOnly: true });
  const first = await envelopes(selected, [1, 2, 3]);
  selected.close();
  // Saved after the fetch, through the write lane: wait for it.
  const ids = (await store.listEntries((await store.getFolder(ALICE, 'INBOX'))!.id)).map((e) => e.messageId);
  for (let i = 0; i < 100 && (await store.messageSummaries(ids)).includes(null); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same((await store.messageSummaries(ids)).map((text) => JSON.parse(text!)), first, 'the summaries are the ENVELOPEs, as JSON text');

  const { store: folders, calls } = counted(store);
  const restarted = backendOn(folders, store);
  t.teardown(() => restarted.stop());
  const later = await (await restarted.login(ALICE, PASSWORD, CLIENT)).select('INBOX', { readOnly: true });
  t.same(await envelopes(later, [1, 2, 3]), first, 'the same ENVELOPEs');
  t.equal(calls.messageIndexes, 0, 'no index read');
  t.equal(calls.messageSummaries, 1, 'one read of summaries');
  later.close();

  await store.expunge((await store.getFolder(ALICE, 'INBOX'))!.id, [1]);
  t.same((await store.messageSummaries(ids))[0], null, 'a summary goes with its message');
  await store.saveSummaries([{ messageId: ids[0]!, summary: '["x"]' }]);
  t.same((await store.messageSummaries(ids))[0], null, 'none is saved for a message gone');
});
