// The selected folder as a client knows it (src/imap/selected.ts): sequence numbers and UIDs, sets
// resolved, and the untagged updates flush() writes, in order, only when RFC 3501 7.4.1 allows.
import t from 'tap';
import type { FolderMessageState, SelectedChange, SelectedFolder } from '../../src/imap/backend.js';
import type { CommandContext } from '../../src/imap/command.js';
import { SelectedState } from '../../src/imap/selected.js';
import { ResponseEncoder } from '../../src/imap/wire/encoder.js';
import { parseSequenceSet } from '../../src/imap/wire/sequence-set.js';

function folderOf(messages: FolderMessageState[], recent: number[] = []) {
  let listener: (change: SelectedChange) => void = () => {};
  let closed = false;
  const folder = {
    name: 'INBOX',
    readOnly: false,
    uidValidity: 7,
    messages,
    uidNext: (messages.at(-1)?.uid ?? 0) + 1,
    highestModseq: Math.max(1, ...messages.map((m) => m.modseq)),
    recent,
    keywords: [],
    onChange: (l: (change: SelectedChange) => void) => void (listener = l),
    close: () => void (closed = true),
  } as unknown as SelectedFolder;
  return { folder, change: (c: SelectedChange) => listener(c), closed: () => closed };
}

function context(): { ctx: CommandContext; lines: string[] } {
  const encoder = new ResponseEncoder();
  const lines: string[] = [];
  const untagged = (values: Parameters<CommandContext['untagged']>[0]) => void lines.push(encoder.response('*', values).toString('latin1').trimEnd());
  const ctx = { untagged } as unknown as CommandContext;
  return { ctx, lines };
}

const msg = (uid: number, flags: string[] = [], modseq = 1): FolderMessageState => ({ uid, flags, modseq });
const set = (text: string) => parseSequenceSet(text) ?? (() => { throw new Error(text); })();

t.test('sequence numbers, UIDs and sets', async (t) => {
  const { folder } = folderOf([msg(3), msg(5), msg(9), msg(10)], [10]);
  const state = new SelectedState(folder, new Set(), { gone: () => {}, changed: () => {} });
  t.equal(state.exists, 4);
  t.strictSame([state.uidOf(1), state.uidOf(4), state.uidOf(5), state.uidOf(0)], [3, 10, undefined, undefined]);
  t.strictSame([state.seqOf(3), state.seqOf(9), state.seqOf(4), state.seqOf(11)], [1, 3, undefined, undefined]);
  t.strictSame(state.flagsOf(10), ['\\Recent']);
  t.strictSame(state.resolve(set('1:*'), false), [3, 5, 9, 10]);
  t.strictSame(state.resolve(set('*:3'), false), [9, 10], 'a range in either order');
  t.strictSame(state.resolve(set('2,4,7'), false), [5, 10], 'numbers past the end are ignored');
  t.strictSame(state.resolve(set('4:9'), true), [5, 9]);
  t.strictSame(state.resolve(set('11:*'), true), [10], 'RFC 3501 6.4.8: n:* names the highest UID even past it');
  t.strictSame(state.resolve(set('10,1:3,5'), true), [3, 5, 10], 'ascending, no duplicates');
  t.strictSame(state.resolve(set('$'), true), [], '$ names nothing without SEARCHRES');
});

t.test('flush: EXPUNGE highest first, then EXISTS and RECENT, then FETCH', async (t) => {
  const { folder, change } = folderOf([msg(1), msg(2), msg(3), msg(4)]);
  const state = new SelectedState(folder, new Set(), { gone: () => {}, changed: () => {} });
  change({ kind: 'expunged', uids: [2, 4] });
  change({ kind: 'appended', messages: [msg(5, ['\\Seen'], 3)], recent: true });
  change({ kind: 'flags', messages: [msg(3, ['\\Flagged'], 4)], own: false });
  const { ctx, lines } = context();
  await state.flush(ctx, { expunges: true });
  t.strictSame(lines, ['* 4 EXPUNGE', '* 2 EXPUNGE', '* 3 EXISTS', '* 1 RECENT', '* 2 FETCH (FLAGS (\\Flagged))']);
  t.strictSame([state.uidOf(1), state.uidOf(2), state.uidOf(3)], [1, 3, 5]);
  t.strictSame(state.flagsOf(5), ['\\Seen', '\\Recent']);
  t.equal(state.highestModseq, 4);
  const again = context();
  await state.flush(again.ctx, { expunges: true });
  t.strictSame(again.lines, [], 'nothing twice');
});

t.test('an expunge waits for a flush that may tell it: no renumbering before', async (t) => {
  const { folder, change } = folderOf([msg(1), msg(2), msg(3)]);
  const state = new SelectedState(folder, new Set(), { gone: () => {}, changed: () => {} });
  change({ kind: 'expunged', uids: [1] });
  change({ kind: 'appended', messages: [msg(4)], recent: false });
  const during = context();
  await state.flush(during.ctx, { expunges: false, uid: true });
  t.strictSame(during.lines, ['* 4 EXISTS', '* 0 RECENT'], 'the expunged one still counts');
  t.equal(state.seqOf(3), 3, 'numbers unchanged');
  t.equal(state.uidOf(1), 1);
  const after = context();
  await state.flush(after.ctx, { expunges: true });
  t.strictSame(after.lines, ['* 1 EXPUNGE']);
  t.equal(state.seqOf(4), 3);
});

t.test('QRESYNC: VANISHED instead of EXPUNGE, and UID and MODSEQ in FETCH', async (t) => {
  const { folder, change } = folderOf([msg(1), msg(2), msg(3), msg(7)]);
  const state = new SelectedState(folder, new Set(['CONDSTORE', 'QRESYNC']), { gone: () => {}, changed: () => {} });
  change({ kind: 'expunged', uids: [1, 2, 7] });
  change({ kind: 'flags', messages: [msg(3, ['\\Seen'], 9)], own: false });
  const { ctx, lines } = context();
  await state.flush(ctx, { expunges: true });
  t.strictSame(lines, ['* VANISHED 1:2,7', '* 1 FETCH (FLAGS (\\Seen) UID 3 MODSEQ (9))']);
});

t.test('a silent STORE is not echoed; under CONDSTORE its MODSEQ is (RFC 7162 3.1.3)', async (t) => {
  const { folder, change } = folderOf([msg(1), msg(2)]);
  const plain = new SelectedState(folder, new Set(), { gone: () => {}, changed: () => {} });
  change({ kind: 'flags', messages: [msg(1, ['\\Seen'], 5)], own: true });
  change({ kind: 'flags', messages: [msg(2, ['\\Seen'], 6)], own: false });
  const first = context();
  await plain.flush(first.ctx, { expunges: false, silentOwn: true });
  t.strictSame(first.lines, ['* 2 FETCH (FLAGS (\\Seen))'], "another session's change is still told");

  const other = folderOf([msg(1), msg(2)]);
  const condstore = new SelectedState(other.folder, new Set(['CONDSTORE']), { gone: () => {}, changed: () => {} });
  other.change({ kind: 'flags', messages: [msg(1, ['\\Seen'], 5)], own: true });
  const second = context();
  await condstore.flush(second.ctx, { expunges: false, silentOwn: true, uid: true });
  t.strictSame(second.lines, ['* 1 FETCH (UID 1 MODSEQ (5))']);
});

t.test('a deleted folder, and close', async (t) => {
  const { folder, change, closed } = folderOf([msg(1)]);
  let gone = 0;
  let woken = 0;
  const state = new SelectedState(folder, new Set(), { gone: () => gone++, changed: () => woken++ });
  change({ kind: 'gone' });
  t.equal(woken, 1, 'every change wakes IDLE');
  const { ctx, lines } = context();
  await state.flush(ctx, { expunges: true });
  t.equal(gone, 1);
  t.strictSame(lines, []);
  state.close();
  t.ok(closed());
  change({ kind: 'appended', messages: [msg(2)], recent: true });
  t.notOk(state.hasPending, 'nothing is queued once closed');
});

t.test('10,000 messages: resolving and telling stay quick', async (t) => {
  const messages = Array.from({ length: 10_000 }, (_, i) => msg(i * 2 + 1, ['\\Seen'], i + 1));
  const { folder, change } = folderOf(messages);
  const state = new SelectedState(folder, new Set(['CONDSTORE']), { gone: () => {}, changed: () => {} });
  const started = performance.now();
  t.equal(state.resolve(set('1:*'), true).length, 10_000);
  for (let uid = 1; uid < 20_000; uid += 2) if (state.seqOf(uid) !== (uid + 1) / 2) t.fail(`seqOf ${uid}`);
  change({ kind: 'expunged', uids: Array.from({ length: 5_000 }, (_, i) => i * 4 + 1) });
  const { ctx, lines } = context();
  await state.flush(ctx, { expunges: true });
  t.equal(lines.length, 5_000);
  t.equal(state.exists, 5_000);
  t.equal(lines[0], '* 9999 EXPUNGE', 'the highest first');
  const ms = performance.now() - started;
  t.ok(ms < 2_000, `took ${Math.round(ms)} ms`);
});
