// Several sessions on one folder through the backend: each SelectedFolder gets every change after its
// snapshot, in order, its own STORE marked and announced before store() resolves; \Recent claimed by
// exactly one read-write session (RFC 3501 2.3.2); STORE with UNCHANGEDSINCE (RFC 7162 3.1.3);
// EXPUNGE, COPY and MOVE; a deleted folder; the live state dropped with the last session.
import t, { type Test } from 'tap';
import { ImapBackendError, type SelectedChange } from '../../src/imap/backend.js';
import { ALICE, fetchAll, MAKERS, message, recordChanges, type BackendFixture } from '../helpers/mailbox-backends.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ImapBackendError) return err.code;
    throw err;
  }
  return 'resolved';
}

/** Changes in a compact form: `appended 3,4 recent`, `flags 2 own [\Seen]`, `expunged 1`, `gone`. */
function described(changes: SelectedChange[]): string[] {
  return changes.map((change) => {
    switch (change.kind) {
      case 'appended':
        return `appended ${change.messages.map((m) => m.uid).join(',')}${change.recent ? ' recent' : ''}`;
      case 'flags':
        return `flags ${change.messages.map((m) => `${m.uid}[${[...m.flags].sort().join(' ')}]`).join(',')}${change.own ? ' own' : ''}`;
      case 'expunged':
        return `expunged ${change.uids.join(',')}`;
      case 'gone':
        return 'gone';
    }
  });
}

for (const { kind, make } of MAKERS) {
  const setup = async (t: Test): Promise<BackendFixture> => {
    const fixture = await make({});
    t.teardown(() => fixture.close());
    return fixture;
  };

  t.test(`${kind}: two sessions see each other's changes in order`, async (t) => {
    const f = await setup(t);
    const one = await f.login();
    const two = await f.login();
    for (const subject of ['a', 'b', 'c']) await one.append('INBOX', Buffer.from(message(subject)), [], null);
    const first = await one.select('INBOX', { readOnly: false });
    const second = await two.select('INBOX', { readOnly: false });
    const seenByFirst = recordChanges(first);
    const seenBySecond = recordChanges(second);
    t.same(first.messages.map((m) => m.uid), [1, 2, 3]);

    const stored = first.store([1, 2], 'add', ['\\Seen']);
    await stored;
    t.same(described(seenByFirst), ['flags 1[\\Seen],2[\\Seen] own'], 'own change announced before store() resolved');
    await second.store([2], 'add', ['\\Deleted']);
    await f.deliver([ALICE], message('d'));
    t.same(await second.expunge(), [2]);
    await first.store([3], 'set', ['\\Flagged', '$Work']);
    const expected = ['flags 1[\\Seen],2[\\Seen]', 'flags 2[\\Deleted \\Seen]', 'appended 4', 'expunged 2', 'flags 3[$Work \\Flagged]'];
    t.same(described(seenBySecond), [expected[0]!, 'flags 2[\\Deleted \\Seen] own', 'appended 4', 'expunged 2', expected[4]!]);
    t.same(described(seenByFirst), ['flags 1[\\Seen],2[\\Seen] own', expected[1]!, 'appended 4 recent', expected[3]!, 'flags 3[$Work \\Flagged] own'], 'the first read-write session gets new mail as recent');

    // Concurrent adds of different flags on one message keep both (the live state serialises them).
    await Promise.all([first.store([1], 'add', ['$A']), second.store([1], 'add', ['$B'])]);
    const [view] = await fetchAll(first, [1], false);
    t.same([...view!.flags].sort(), ['$A', '$B', '\\Seen']);
    first.close();
    second.close();
  });

  t.test(`${kind}: changes queue until the server listens`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    const selected = await account.select('INBOX', { readOnly: false });
    await f.deliver([ALICE], message('early'));
    const changes = recordChanges(selected);
    t.same(described(changes), ['appended 1 recent']);
  });

  t.test(`${kind}: mail that arrives while the folder loads is seen exactly once`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    await f.deliver([ALICE], message('before'));
    for (let round = 0; round < 5; round++) {
      const selecting = account.select('INBOX', { readOnly: false });
      const delivering = f.deliver([ALICE], message(`during ${round}`));
      const [selected] = await Promise.all([selecting, delivering]);
      const changes = recordChanges(selected);
      const seen = [...selected.messages.map((m) => m.uid), ...changes.flatMap((c) => (c.kind === 'appended' ? c.messages.map((m) => m.uid) : []))];
      t.same(seen, Array.from({ length: round + 2 }, (_, i) => i + 1), `round ${round}: each UID once, in order`);
      selected.close();
    }
  });

  t.test(`${kind}: \\Recent is claimed once`, async (t) => {
    const f = await setup(t);
    const a = await f.login();
    const b = await f.login();
    await f.deliver([ALICE], message('one'));
    await f.deliver([ALICE], message('two'));
    t.equal((await a.status('INBOX')).recent, 2);

    const examined = await b.select('INBOX', { readOnly: true });
    t.same(examined.recent, [1, 2], 'EXAMINE shows them as recent');
    examined.close();
    t.equal((await a.status('INBOX')).recent, 2, 'and does not claim them');

    const claimer = await a.select('INBOX', { readOnly: false });
    t.same(claimer.recent, [1, 2]);
    t.equal((await a.status('INBOX')).recent, 0, 'claimed');
    const later = await b.select('INBOX', { readOnly: false });
    t.same(later.recent, [], 'a second read-write session sees none as recent');
    const claimerChanges = recordChanges(claimer);
    const laterChanges = recordChanges(later);
    await f.deliver([ALICE], message('three'));
    t.same(described(claimerChanges), ['appended 3 recent']);
    t.same(described(laterChanges), ['appended 3']);
    t.equal((await a.status('INBOX')).recent, 0);
    claimer.close();
    await f.deliver([ALICE], message('four'));
    t.same(described(laterChanges), ['appended 3', 'appended 4 recent'], 'with the first gone, the next one gets new mail');
    later.close();
    await f.deliver([ALICE], message('five'));
    t.equal((await a.status('INBOX')).recent, 1, 'nobody selected: STATUS counts what arrived');
    const again = await a.select('INBOX', { readOnly: false });
    t.same(again.recent, [5]);
  });

  t.test(`${kind}: STORE`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    for (const subject of ['a', 'b', 'c']) await account.append('INBOX', Buffer.from(message(subject)), ['$Junk'], null);
    const inbox = await account.select('INBOX', { readOnly: false });
    const changes = recordChanges(inbox);
    const base = inbox.highestModseq;
    t.same(await inbox.store([1, 2, 3, 99], 'add', ['\\Seen', '$junk']), { modified: [] });
    const views = await fetchAll(inbox, [1, 2, 3], false);
    t.same(views.map((view) => [...view.flags].sort()), [['$Junk', '\\Seen'], ['$Junk', '\\Seen'], ['$Junk', '\\Seen']], 'a keyword keeps its first spelling');
    t.ok(views.every((view) => view.modseq > base));
    await inbox.store([2], 'remove', ['$JUNK']);
    const bumped = (await fetchAll(inbox, [2], false))[0]!.modseq;
    // RFC 7162 3.1.3: UID 2 changed after `base`: left alone and reported.
    t.same(await inbox.store([1, 2, 3], 'set', ['\\Answered'], base + 1), { modified: [2] });
    const after = await fetchAll(inbox, [1, 2, 3], false);
    t.same(after.map((view) => [...view.flags]), [['\\Answered'], ['\\Seen'], ['\\Answered']]);
    t.equal(after[1]!.modseq, bumped);
    t.same(await inbox.store([1], 'add', ['\\Answered']), { modified: [] }, 'no change, nothing announced');
    t.equal(changes.length, 3);
    t.equal(await codeOf(inbox.store([1], 'add', ['\\Recent'])), 'CANNOT', '\\Recent cannot be stored');

    const examined = await account.select('INBOX', { readOnly: true });
    t.equal(await codeOf(examined.store([1], 'add', ['\\Seen'])), 'CANNOT');
    t.equal(await codeOf(examined.expunge()), 'CANNOT');
    t.equal(await codeOf(examined.copy([1], 'Trash', true)), 'CANNOT');
  });

  t.test(`${kind}: EXPUNGE, COPY and MOVE`, async (t) => {
    const f = await setup(t);
    const account = await f.login();
    for (const subject of ['a', 'b', 'c', 'd']) await account.append('INBOX', Buffer.from(message(subject)), subject === 'a' ? ['\\Seen'] : [], null);
    const inbox = await account.select('INBOX', { readOnly: false });
    const changes = recordChanges(inbox);
    await inbox.store([1, 2, 3], 'add', ['\\Deleted']);
    t.same(await inbox.expunge([2, 4]), [2], 'only \\Deleted ones among those named (UID EXPUNGE)');
    t.same(await inbox.expunge(), [1, 3]);
    t.same(await inbox.expunge(), []);
    t.same((await inbox.vanishedSince(0)).sort(), [1, 2, 3]);

    await account.append('INBOX', Buffer.from(message('e')), ['\\Flagged'], null);
    const trash = await account.status('Trash');
    const copied = await inbox.copy([4, 5, 77], 'Trash', false);
    t.same(copied, { uidValidity: trash.uidValidity, pairs: [[4, trash.uidNext], [5, trash.uidNext + 1]] });
    t.equal((await account.status('INBOX')).messages, 2);
    t.equal(await codeOf(inbox.copy([4], 'Nowhere', false)), 'TRYCREATE');

    const moved = await inbox.copy([5], 'Archive', true);
    t.same(moved.pairs, [[5, 1]]);
    t.same(described(changes).slice(-2), ['appended 5 recent', 'expunged 5']);
    const archive = await account.select('Archive', { readOnly: true });
    t.same(archive.messages.map((m) => [m.uid, [...m.flags]]), [[1, ['\\Flagged']]], 'flags go along');
    const [view] = await fetchAll(archive, [1]);
    t.same((view!.envelope() as unknown[])[1], 'e');
  });

  t.test(`${kind}: a deleted or renamed folder`, async (t) => {
    const f = await setup(t);
    const one = await f.login();
    const two = await f.login();
    await one.createFolder('Lists');
    await one.append('Lists', Buffer.from(message('x')), [], null);
    const selected = await one.select('Lists', { readOnly: false });
    const changes = recordChanges(selected);
    await two.renameFolder('Lists', 'Groups');
    t.equal(selected.name, 'Groups', 'the name follows a rename');
    await two.deleteFolder('Groups');
    t.same(described(changes), ['gone']);
    t.equal(await codeOf(selected.store([1], 'add', ['\\Seen'])), 'NONEXISTENT');
    selected.close();
  });

  t.test(`${kind}: the live state is shared, and dropped with the last session`, async (t) => {
    const f = await setup(t);
    const a = await f.login();
    const b = await f.login();
    await a.append('INBOX', Buffer.from(message('x')), [], null);
    const live = (f.backend as unknown as { live: { size: number } }).live;
    const [x, y] = await Promise.all([a.select('INBOX', { readOnly: false }), b.select('INBOX', { readOnly: true })]);
    t.equal(live.size, 1, 'one live folder for both');
    x.close();
    t.equal(live.size, 1);
    b.close();
    t.equal(live.size, 0, 'account close() closes its folders');
    y.close();
    t.equal(live.size, 0);
  });
}
