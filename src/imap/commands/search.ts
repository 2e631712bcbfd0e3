// search = "SEARCH" [search-return-opts] SP search-criteria              ; RFC 3501 9, RFC 4731, RFC 4466
// uid    = "UID" SP search
//
// RFC 3501 6.4.4 SEARCH and 6.4.8 UID SEARCH; RFC 4731 ESEARCH results for RETURN (MIN MAX ALL COUNT);
// RFC 7162 3.1.5 the MODSEQ key and the highest MODSEQ of the result. The criteria are read by
// search/keys.ts; messages are first judged on what the session knows, and only the undecided are read.
import type { CommandContext, CommandSpec, SelectedSession } from '../command.js';
import { atom, list, num, seq, str, type ResponseValue } from '../wire/encoder.js';
import { compactSequenceSet } from '../wire/sequence-set.js';
import { breathe, BREATHE_EVERY, enableCondstore, requireSelected } from '../fetch/message-set.js';
import type { SearchKey } from '../search/keys.js';
import { fullMatch, needsOf, quickMatch, setKeys, type MessageState, type ResolvedSets } from '../search/evaluate.js';
import { CHARSETS, parseSearch, type ReturnOption } from '../search/request.js';

function usesModseq(key: SearchKey): boolean {
  switch (key.kind) {
    case 'modseq':
      return true;
    case 'not':
      return usesModseq(key.key);
    case 'or':
      return usesModseq(key.left) || usesModseq(key.right);
    case 'and':
      return key.keys.some(usesModseq);
    default:
      return false;
  }
}

function stateOf(selected: SelectedSession, seqNumber: number, uid: number): MessageState {
  return { uid, seq: seqNumber, flags: selected.flagsOf(uid), modseq: selected.modseqOf(uid) };
}

/** The UIDs that match, in ascending order. */
async function matchingUids(ctx: CommandContext, selected: SelectedSession, key: SearchKey): Promise<number[]> {
  const members = new Map<SearchKey, ReadonlySet<number>>();
  for (const setKey of setKeys(key)) {
    if (setKey.kind === 'seq' || setKey.kind === 'uid') members.set(setKey, new Set(selected.resolve(setKey.set, setKey.kind === 'uid')));
  }
  const sets: ResolvedSets = { members };
  const matched = new Set<number>();
  const undecided = new Map<number, MessageState>();
  for (let seqNumber = 1; seqNumber <= selected.exists; seqNumber += 1) {
    const uid = selected.uidOf(seqNumber);
    if (uid === undefined) continue;
    const state = stateOf(selected, seqNumber, uid);
    const quick = quickMatch(key, state, sets);
    if (quick === true) matched.add(uid);
    else if (quick === undefined) undecided.set(uid, state);
  }
  if (undecided.size > 0) {
    let read = 0;
    // A message another session expunged meanwhile is not yielded, and so does not match.
    for await (const view of selected.folder.fetch([...undecided.keys()], needsOf(key))) {
      const state = undecided.get(view.uid);
      if (state && (await fullMatch(key, state, view, sets))) matched.add(view.uid);
      read += 1;
      if (read % BREATHE_EVERY === 0) await breathe(ctx);
    }
  }
  return [...matched].sort((a, b) => a - b);
}

/** RFC 4731 3.1: `* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set COUNT n`, in Dovecot's order. */
function esearchValues(tag: string, byUid: boolean, returns: ReadonlySet<ReturnOption>, numbers: readonly number[]): ResponseValue[] {
  const out: ResponseValue[] = [atom('ESEARCH'), list([atom('TAG'), str(tag)])];
  if (byUid) out.push(atom('UID'));
  const first = numbers[0];
  const last = numbers[numbers.length - 1];
  if (returns.has('MIN') && first !== undefined) out.push(atom('MIN'), num(first));
  if (returns.has('MAX') && last !== undefined) out.push(atom('MAX'), num(last));
  if (returns.has('ALL') && numbers.length > 0) out.push(atom('ALL'), seq(compactSequenceSet(numbers)));
  if (returns.has('COUNT')) out.push(atom('COUNT'), num(numbers.length));
  return out;
}

async function runSearch(ctx: CommandContext, byUid: boolean): Promise<void> {
  const selected = requireSelected(ctx);
  if (!selected) return;
  const request = parseSearch(ctx.command.args);
  if ('error' in request) {
    if (request.error === 'charset') return ctx.no(request.text, `BADCHARSET (${CHARSETS.join(' ')})`);
    return ctx.bad(request.text);
  }
  const withModseq = usesModseq(request.key);
  if (withModseq) enableCondstore(ctx);
  const uids = await matchingUids(ctx, selected, request.key);
  const numbers = byUid ? uids : uids.map((uid) => selected.seqOf(uid) ?? 0).filter((n) => n > 0);
  // RFC 7162 3.1.5: with a MODSEQ key, the highest MODSEQ of the messages found (none when none are).
  const highest = withModseq && uids.length > 0 ? uids.reduce((top, uid) => Math.max(top, selected.modseqOf(uid)), 0) : undefined;
  if (request.returns === null) {
    const values: ResponseValue[] = [atom('SEARCH'), ...numbers.map((n) => num(n))];
    if (highest !== undefined) values.push(list([atom('MODSEQ'), num(highest)]));
    ctx.untagged(values);
  } else {
    const values = esearchValues(ctx.tag, byUid, request.returns, numbers);
    if (highest !== undefined) values.push(atom('MODSEQ'), num(highest));
    ctx.untagged(values);
  }
  // RFC 3501 7.4.1: no EXPUNGE during SEARCH; UID SEARCH may tell them.
  await selected.flush(ctx, { expunges: byUid, uid: byUid });
  ctx.ok('Search completed');
}

export const searchCommand: CommandSpec = {
  name: 'SEARCH',
  states: ['selected'],
  run: (ctx) => runSearch(ctx, false),
};

export const uidSearchCommand: CommandSpec = {
  name: 'UID SEARCH',
  states: ['selected'],
  run: (ctx) => runSearch(ctx, true),
};
