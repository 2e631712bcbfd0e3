// The FolderStore contract (src/core/interfaces.ts) as a test suite that takes a factory (DESIGN.md
// principle 9): run on the LevelDB store by test/unit/folder-store.test.ts, and on any other backend
// unchanged (the in-memory one of test/helpers/memory-folder-store.ts, a PostgreSQL one later). It
// looks only through the contract: no keys, no files. Durability is each backend's own test.
import type { Test } from 'tap';
import type { FolderStore, MessageWriter } from '../../src/core/interfaces.js';
import type { Folder, FolderChange } from '../../src/core/types.js';

export interface FolderStoreHarness {
  store: FolderStore;
  /** MailStore.createMessage of the same backend: APPEND writes through it, deliveries commit it. */
  createMessage(): Promise<MessageWriter>;
  /** Adds a user (quota in bytes, 0: none); returns the address the store knows it by. */
  addUser(address: string, quota?: number): Promise<string>;
  close(): Promise<void>;
}

/** Makes a fresh, empty backend for one test; the suite closes it. */
export type FolderStoreFactory = (t: Test) => Promise<FolderStoreHarness>;

const DEFAULTS: [string, string | null][] = [
  ['Archive', '\\Archive'], ['Drafts', '\\Drafts'], ['INBOX', null], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash'],
];

function message(subject: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`From: a@example.test\r\nTo: b@example.test\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`);
}

export async function readAll(store: FolderStore, messageId: string, range?: { start: number; end: number }): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  try {
    for await (const part of store.readMessage(messageId, range)) parts.push(part as Buffer);
  } catch {
    return null;
  }
  return Buffer.concat(parts);
}

/** Is the message's content gone from the store (no bytes, or NOT_FOUND)? */
async function gone(store: FolderStore, messageId: string): Promise<boolean> {
  const bytes = await readAll(store, messageId);
  return bytes === null || bytes.length === 0;
}

function names(folders: Folder[]): string[] {
  return folders.map((f) => f.name).sort();
}

export function folderStoreContract(t: Test, factory: FolderStoreFactory): void {
  /** A fresh backend with alice (and bob) and helpers bound to it. */
  async function setup(t: Test, quota = 0) {
    const harness = await factory(t);
    t.teardown(() => harness.close());
    const { store } = harness;
    const alice = await harness.addUser('alice@example.com', quota);
    const bob = await harness.addUser('bob@example.com');
    const changes: FolderChange[] = [];
    const stop = store.onChange((change) => changes.push(change));
    t.teardown(stop);
    const append = async (user: string, folder: string, bytes: Buffer, options: { flags?: string[]; internalDate?: number } = {}) => {
      const writer = await harness.createMessage();
      await writer.write(bytes);
      return store.append(user, folder, writer, { flags: options.flags ?? [], ...(options.internalDate === undefined ? {} : { internalDate: options.internalDate }) });
    };
    const deliver = async (users: string[], bytes: Buffer) => {
      const writer = await harness.createMessage();
      await writer.write(bytes);
      return (await writer.commit({ mailboxes: users })).messageId;
    };
    const folder = async (user: string, name: string) => {
      const found = await store.getFolder(user, name);
      if (!found) throw new Error(`no folder ${name}`);
      return found;
    };
    return { harness, store, alice, bob, changes, append, deliver, folder };
  }

  t.test('every user has the six default folders, subscribed, with their special use', async (t) => {
    const { store, alice } = await setup(t);
    const folders = await store.listFolders(alice);
    t.same(folders.map((f) => [f.name, f.specialUse]).sort(), DEFAULTS);
    for (const f of folders) {
      t.match(f, { user: alice, subscribed: true, uidNext: 1, highestModseq: 1, messages: 0, unseen: 0, bytes: 0 }, f.name);
      t.ok(f.uidValidity > 0 && f.uidValidity < 2 ** 32, `${f.name}: UIDVALIDITY a non-zero 32-bit number`);
    }
    t.equal(new Set(folders.map((f) => f.id)).size, 6, 'each its own id');
    t.equal((await store.getFolder(alice, 'inbox'))?.name, 'INBOX', 'INBOX in any case (RFC 3501 5.1)');
    t.equal(await store.getFolder(alice, 'Nowhere'), null);
    await t.rejects(store.listFolders('nobody@example.com'), { code: 'NOT_FOUND' });
  });

  t.test('create: superiors made, names checked, a name made again gets a new UIDVALIDITY', async (t) => {
    const { store, alice } = await setup(t);
    const made = await store.createFolder(alice, 'Projects/Alpha/2025');
    t.match(made, { name: 'Projects/Alpha/2025', uidNext: 1, highestModseq: 1, messages: 0, specialUse: null });
    t.same(names(await store.listFolders(alice)), [...DEFAULTS.map(([n]) => n), 'Projects', 'Projects/Alpha', 'Projects/Alpha/2025'].sort(), 'RFC 3501 6.3.3: the superiors are made');
    await t.rejects(store.createFolder(alice, 'Projects/Alpha'), { code: 'ALREADY_EXISTS' });
    await t.rejects(store.createFolder(alice, 'inbox'), { code: 'ALREADY_EXISTS' }, 'INBOX in any case');
    const bad = ['', '/a', 'a/', 'a//b', 'a\0b', 'a\r\nb', 'x'.repeat(256), Array.from({ length: 21 }, () => 'l').join('/')];
    for (const name of bad) await t.rejects(store.createFolder(alice, name), { code: 'INVALID' }, JSON.stringify(name.slice(0, 20)));
    t.ok(await store.createFolder(alice, 'é'.repeat(127)), '254 bytes in a level is fine');
    t.ok(await store.createFolder(alice, 'Ünïcödé/日本'), 'UTF-8 names');
    const used = await store.createFolder(alice, 'Flagged mail', '\\Flagged');
    t.equal(used.specialUse, '\\Flagged', 'RFC 6154 CREATE-SPECIAL-USE');
    const first = await store.createFolder(alice, 'Again');
    await store.deleteFolder(alice, 'Again');
    const second = await store.createFolder(alice, 'Again');
    t.not(second.uidValidity, first.uidValidity, 'RFC 3501 2.3.1.1: a new UIDVALIDITY');
    t.not(second.id, first.id);
  });

  t.test('delete: not INBOX, not a missing one; inferiors stay; messages released', async (t) => {
    const { store, alice, append, changes } = await setup(t);
    await store.createFolder(alice, 'Old/Child');
    const { entry, folder } = await append(alice, 'Old', message('old'));
    await t.rejects(store.deleteFolder(alice, 'INBOX'), { code: 'INVALID' });
    await t.rejects(store.deleteFolder(alice, 'inbox'), { code: 'INVALID' });
    await t.rejects(store.deleteFolder(alice, 'Missing'), { code: 'NOT_FOUND' });
    await store.deleteFolder(alice, 'Old');
    t.equal(await store.getFolder(alice, 'Old'), null);
    t.ok(await store.getFolder(alice, 'Old/Child'), 'RFC 3501 6.3.4: its inferiors stay');
    t.ok(await gone(store, entry.messageId), 'the message only it held is gone');
    t.match(changes.at(-1), { kind: 'deleted', user: alice, folderId: folder.id });
  });

  t.test('rename: ids and UIDVALIDITY kept, inferiors follow, clashes refused', async (t) => {
    const { store, alice, append, changes } = await setup(t);
    await store.createFolder(alice, 'Work/Reports');
    const before = await store.getFolder(alice, 'Work');
    const child = await store.getFolder(alice, 'Work/Reports');
    const { entry } = await append(alice, 'Work', message('kept'));
    await store.renameFolder(alice, 'Work', 'Archive/Work');
    t.equal(await store.getFolder(alice, 'Work'), null);
    t.match(await store.getFolder(alice, 'Archive/Work'), { id: before?.id, uidValidity: before?.uidValidity, messages: 1 });
    t.match(await store.getFolder(alice, 'Archive/Work/Reports'), { id: child?.id, uidValidity: child?.uidValidity }, 'RFC 3501 6.3.5: inferiors renamed too');
    t.same((await store.listEntries(before?.id as string)).map((e) => e.messageId), [entry.messageId]);
    t.ok(changes.some((c) => c.kind === 'renamed' && c.folderId === before?.id && c.name === 'Archive/Work'));
    t.ok(changes.some((c) => c.kind === 'renamed' && c.folderId === child?.id && c.name === 'Archive/Work/Reports'));
    await t.rejects(store.renameFolder(alice, 'Missing', 'Elsewhere'), { code: 'NOT_FOUND' });
    await t.rejects(store.renameFolder(alice, 'Sent', 'Drafts'), { code: 'ALREADY_EXISTS' });
    await t.rejects(store.renameFolder(alice, 'Sent', 'a//b'), { code: 'INVALID' });
    await t.rejects(store.renameFolder(alice, 'Archive', 'Archive/Deeper'), { code: 'INVALID' }, 'not below itself');
  });

  t.test('rename INBOX: its messages move to a new folder with UIDs from 1; INBOX stays, empty', async (t) => {
    const { store, alice, deliver, folder, changes } = await setup(t);
    await store.createFolder(alice, 'INBOX/Child');
    const ids = [await deliver([alice], message('one')), await deliver([alice], message('two'))];
    const inbox = await folder(alice, 'INBOX');
    changes.length = 0;
    await store.renameFolder(alice, 'INBOX', 'Old mail');
    const moved = await folder(alice, 'Old mail');
    t.not(moved.id, inbox.id, 'a new folder');
    t.same((await store.listEntries(moved.id)).map((e) => [e.uid, e.messageId]), [[1, ids[0]], [2, ids[1]]]);
    t.match(moved, { messages: 2, uidNext: 3 });
    const after = await folder(alice, 'INBOX');
    t.match(after, { id: inbox.id, uidValidity: inbox.uidValidity, messages: 0, bytes: 0, uidNext: 3 }, 'INBOX stays; its UIDs are not given again');
    t.same(await store.listEntries(inbox.id), []);
    t.ok(await store.getFolder(alice, 'INBOX/Child'), "INBOX's inferiors are not renamed");
    t.ok(changes.some((c) => c.kind === 'expunged' && c.folderId === inbox.id && c.uids.join() === '1,2'));
    t.ok(changes.some((c) => c.kind === 'appended' && c.folderId === moved.id && c.entries.length === 2));
    t.same(await store.vanishedSince(inbox.id, inbox.highestModseq), [1, 2]);
  });

  t.test('subscribe and unsubscribe', async (t) => {
    const { store, alice } = await setup(t);
    await store.createFolder(alice, 'News');
    await store.setSubscribed(alice, 'News', true);
    t.equal((await store.getFolder(alice, 'News'))?.subscribed, true);
    await store.setSubscribed(alice, 'Trash', false);
    t.equal((await store.getFolder(alice, 'Trash'))?.subscribed, false);
    await t.rejects(store.setSubscribed(alice, 'Missing', true), { code: 'NOT_FOUND' });
  });

  t.test('append: flags, internal dates, UIDs in order, counters and MODSEQ', async (t) => {
    const { store, alice, append, changes } = await setup(t);
    const date = Date.UTC(2024, 0, 2, 3, 4, 5);
    const first = await append(alice, 'Drafts', message('first'), { flags: ['\\Seen', '\\Draft', '$Label1'], internalDate: date });
    const second = await append(alice, 'drafts'.replace('d', 'D'), message('second', 'x'.repeat(1000)));
    t.match(first.entry, { uid: 1, flags: ['\\Seen', '\\Draft', '$Label1'], internalDate: date, size: message('first').length });
    t.match(second.entry, { uid: 2, flags: [] });
    t.ok(Math.abs(second.entry.internalDate - Date.now()) < 60_000, 'internal date defaults to now');
    t.ok(second.entry.modseq > first.entry.modseq, 'each change a higher MODSEQ');
    const drafts = await store.getFolder(alice, 'Drafts');
    t.match(drafts, { uidNext: 3, messages: 2, unseen: 1, bytes: first.entry.size + second.entry.size, highestModseq: second.entry.modseq });
    t.equal(second.folder.uidNext, 3, 'append answers with the folder as it is after');
    const entries = await store.listEntries(drafts?.id as string);
    t.same(entries.map((e) => e.uid), [1, 2]);
    t.same(entries[0], first.entry);
    t.same(await readAll(store, second.entry.messageId), message('second', 'x'.repeat(1000)));
    const whole = message('second', 'x'.repeat(1000));
    t.same(await readAll(store, second.entry.messageId, { start: 10, end: 50 }), whole.subarray(10, 50), 'a range');
    const [index, none] = await store.messageIndexes([first.entry.messageId, 'no-such-message']);
    t.ok(index, 'the message was indexed as it was written');
    t.equal(none, null);
    t.match(changes.filter((c) => c.kind === 'appended').map((c) => c.kind === 'appended' && [c.entries.map((e) => e.uid), c.uidNext]), [[[1], 2], [[2], 3]]);
    await t.rejects(append(alice, 'Missing', message('lost')), { code: 'NOT_FOUND' });
  });

  t.test('setFlags: whole lists, MODSEQ per change, UNCHANGEDSINCE conflicts, origin passed on', async (t) => {
    const { store, alice, append, changes, folder } = await setup(t);
    for (const n of [1, 2, 3]) await append(alice, 'INBOX', message(`m${n}`));
    const inbox = await folder(alice, 'INBOX');
    const origin = { session: 1 };
    const first = await store.setFlags(inbox.id, [{ uid: 1, flags: ['\\Seen'] }, { uid: 2, flags: ['\\Seen', '$Work'] }, { uid: 9, flags: ['\\Seen'] }], { origin });
    t.same(first.changed.map((e) => [e.uid, e.flags]), [[1, ['\\Seen']], [2, ['\\Seen', '$Work']]], 'UIDs not there are skipped');
    t.same(first.conflicts, []);
    const after = await folder(alice, 'INBOX');
    t.equal(after.highestModseq, inbox.highestModseq + 1, 'one change, one MODSEQ');
    t.ok(first.changed.every((e) => e.modseq === after.highestModseq));
    t.equal(after.unseen, 1);
    t.match(changes.at(-1), { kind: 'flags', folderId: inbox.id, highestModseq: after.highestModseq, origin });
    const same = await store.setFlags(inbox.id, [{ uid: 1, flags: ['\\Seen'] }]);
    t.same(same.changed, [], 'no change, no new MODSEQ');
    t.equal((await folder(alice, 'INBOX')).highestModseq, after.highestModseq);
    // RFC 7162 3.1.3: entry 2 changed after the MODSEQ the client knew (inbox.highestModseq), entry 3 not.
    const conditional = await store.setFlags(inbox.id, [{ uid: 2, flags: [] }, { uid: 3, flags: ['\\Flagged'] }], { unchangedSince: inbox.highestModseq });
    t.same(conditional.conflicts, [2]);
    t.same(conditional.changed.map((e) => e.uid), [3]);
    const entries = await store.listEntries(inbox.id);
    t.same(entries.map((e) => e.flags), [['\\Seen'], ['\\Seen', '$Work'], ['\\Flagged']]);
    await t.rejects(store.setFlags('no-such-folder', [{ uid: 1, flags: [] }]), { code: 'NOT_FOUND' });
  });

  t.test('expunge and vanishedSince (QRESYNC)', async (t) => {
    const { store, alice, append, folder, changes } = await setup(t);
    const appended = [];
    for (const n of [1, 2, 3, 4]) appended.push(await append(alice, 'INBOX', message(`m${n}`), { flags: n === 1 ? ['\\Seen'] : [] }));
    const before = await folder(alice, 'INBOX');
    t.same(await store.expunge(before.id, [1, 3, 7]), [1, 3], 'only the UIDs that were there');
    const after = await folder(alice, 'INBOX');
    t.match(after, { messages: 2, unseen: 2, uidNext: 5, highestModseq: before.highestModseq + 1 });
    t.same((await store.listEntries(before.id)).map((e) => e.uid), [2, 4]);
    t.match(changes.at(-1), { kind: 'expunged', folderId: before.id, uids: [1, 3], highestModseq: after.highestModseq });
    t.same(await store.vanishedSince(before.id, before.highestModseq), [1, 3]);
    t.same(await store.vanishedSince(before.id, after.highestModseq), []);
    t.ok(await gone(store, appended[0]?.entry.messageId as string), 'an expunged message no one else holds is gone');
    t.same(await store.expunge(before.id, [1]), [], 'twice: nothing');
    const next = await append(alice, 'INBOX', message('m5'));
    t.equal(next.entry.uid, 5, 'UIDs are never given again');
  });

  t.test('copy and move: COPYUID pairs, flags and dates kept, the message stored once', async (t) => {
    const { store, alice, bob, append, folder, changes } = await setup(t);
    const date = Date.UTC(2023, 5, 6);
    const a = await append(alice, 'INBOX', message('a'), { flags: ['\\Flagged'], internalDate: date });
    const b = await append(alice, 'INBOX', message('b'));
    const inbox = await folder(alice, 'INBOX');
    const archive = await folder(alice, 'Archive');
    await append(alice, 'Archive', message('already there'));
    const copied = await store.copy(inbox.id, [2, 1, 9], archive.id, false);
    t.same(copied, { uidValidity: archive.uidValidity, pairs: [[1, 2], [2, 3]] }, 'RFC 4315: source UIDs in order, new UIDs in order');
    const archived = await store.listEntries(archive.id);
    t.match(archived[1], { uid: 2, messageId: a.entry.messageId, flags: ['\\Flagged'], internalDate: date });
    t.match(await folder(alice, 'Archive'), { messages: 3, uidNext: 4 });
    t.match(changes.at(-1), { kind: 'appended', folderId: archive.id });
    await store.expunge(inbox.id, [1]);
    t.same(await readAll(store, a.entry.messageId), message('a'), 'the copy keeps the message');
    await store.expunge(archive.id, [2]);
    t.ok(await gone(store, a.entry.messageId), 'gone with its last entry');

    changes.length = 0;
    const trash = await folder(alice, 'Trash');
    const moved = await store.copy(inbox.id, [2], trash.id, true);
    t.same(moved.pairs, [[2, 1]]);
    t.same(await store.listEntries(inbox.id), [], 'RFC 6851: gone from the source in the same change');
    t.same((await store.listEntries(trash.id)).map((e) => e.messageId), [b.entry.messageId]);
    t.same(changes.map((c) => [c.kind, c.folderId]), [['appended', trash.id], ['expunged', inbox.id]]);
    t.same(await readAll(store, b.entry.messageId), message('b'));
    const bobInbox = await folder(bob, 'INBOX');
    await t.rejects(store.copy(trash.id, [1], bobInbox.id, false), { code: 'INVALID' }, "not into another user's folder");
    await t.rejects(store.copy(trash.id, [1], 'no-such-folder', false), { code: 'NOT_FOUND' });
  });

  t.test('quota: append and copy refused past it, move and delivery not', async (t) => {
    const size = message('q', 'x'.repeat(400)).length;
    const { store, alice, append, deliver, folder } = await setup(t, size * 2 + 10);
    await append(alice, 'INBOX', message('q', 'x'.repeat(400)));
    await append(alice, 'Sent', message('q', 'x'.repeat(400)));
    t.match(await store.usage(alice), { bytes: size * 2, messages: 2, quota: size * 2 + 10 });
    await t.rejects(append(alice, 'INBOX', message('q', 'x'.repeat(400))), { code: 'TOO_LARGE' });
    const inbox = await folder(alice, 'INBOX');
    const trash = await folder(alice, 'Trash');
    await t.rejects(store.copy(inbox.id, [1], trash.id, false), { code: 'TOO_LARGE' });
    t.same((await store.copy(inbox.id, [1], trash.id, true)).pairs, [[1, 1]], 'a move adds nothing');
    await deliver([alice], message('q', 'x'.repeat(400)));
    t.match(await store.usage(alice), { bytes: size * 3, messages: 3 }, 'delivery is refused at RCPT, not here (a soft limit)');
    t.same(await store.usage('bob@example.com'), { bytes: 0, messages: 0, quota: 0 });
  });

  t.test('changes are announced in order, each before its method resolves', async (t) => {
    const { store, alice, append, folder, changes } = await setup(t);
    const seen: string[] = [];
    const stop = store.onChange((c) => seen.push(c.kind));
    const { entry } = await append(alice, 'INBOX', message('x'));
    t.same(seen, ['appended'], 'appended before append resolved');
    const inbox = await folder(alice, 'INBOX');
    await store.setFlags(inbox.id, [{ uid: entry.uid, flags: ['\\Seen'] }]);
    t.same(seen, ['appended', 'flags']);
    await store.expunge(inbox.id, [entry.uid]);
    t.same(seen, ['appended', 'flags', 'expunged']);
    await store.createFolder(alice, 'Tmp');
    await store.renameFolder(alice, 'Tmp', 'Tmp2');
    await store.deleteFolder(alice, 'Tmp2');
    t.same(seen, ['appended', 'flags', 'expunged', 'renamed', 'deleted']);
    stop();
    await append(alice, 'INBOX', message('y'));
    t.equal(seen.length, 5, 'a stopped listener hears nothing more');
    const modseqs = changes.filter((c) => c.kind !== 'renamed' && c.kind !== 'deleted' && c.folderId === inbox.id).map((c) => (c as { highestModseq: number }).highestModseq);
    t.same(modseqs, [...modseqs].sort((a, b) => a - b), 'MODSEQs grow in announcement order');
  });

  t.test('a message delivered to two users is stored once and kept until its last entry goes', async (t) => {
    const { store, alice, bob, deliver, folder, changes } = await setup(t);
    const id = await deliver([alice, bob], message('both'));
    const aliceInbox = await folder(alice, 'INBOX');
    const bobInbox = await folder(bob, 'INBOX');
    t.same((await store.listEntries(aliceInbox.id)).map((e) => e.messageId), [id]);
    t.same((await store.listEntries(bobInbox.id)).map((e) => e.messageId), [id]);
    t.same(changes.filter((c) => c.kind === 'appended').map((c) => c.user).sort(), [alice, bob].sort(), 'announced as appended in each INBOX');
    t.match(aliceInbox, { messages: 1, unseen: 1, uidNext: 2 });
    await store.expunge(aliceInbox.id, [1]);
    t.same(await readAll(store, id), message('both'), "bob's entry keeps it");
    await store.expunge(bobInbox.id, [1]);
    t.ok(await gone(store, id), 'gone with the last entry');
  });
}
