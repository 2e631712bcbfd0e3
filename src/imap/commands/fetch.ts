// fetch      = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
//              "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]          ; RFC 3501 9, RFC 7162 7
// uid        = "UID" SP (copy / fetch / search / store / move / uid-expunge)
//
// RFC 3501 6.4.5 and 6.4.8: FETCH and UID FETCH, answered one message at a time as the backend yields
// them, so 10,000 messages never sit in memory at once; RFC 7162 3.1.4 CHANGEDSINCE, 3.2.6 VANISHED.
import type { SelectedSession, CommandContext, CommandSpec } from '../command.js';
import { atom, list, num, seq } from '../wire/encoder.js';
import { compactSequenceSet, type SequenceSet } from '../wire/sequence-set.js';
import { parseFetch, type FetchRequest } from '../fetch/items.js';
import { breathe, BREATHE_EVERY, enableCondstore, messageSet, requireSelected, uidSetContains } from '../fetch/message-set.js';
import { encodeSimple, planItems, readsContent, renderFetch, renderSimple, type FetchEncoding } from '../fetch/render.js';

const STATES = ['selected'] as const;

/** RFC 7162 3.2.6: `* VANISHED (EARLIER) uids` for the UIDs of the set expunged since CHANGEDSINCE. */
async function tellVanished(ctx: CommandContext, selected: SelectedSession, set: SequenceSet, since: number): Promise<void> {
  const largest = Math.max(selected.folder.uidNext - 1, selected.uidOf(selected.exists) ?? 0);
  const expunged = await selected.folder.vanishedSince(since);
  // A UID the client still sees (its expunge not yet told) is not reported as vanished.
  const vanished = expunged.filter((uid) => uidSetContains(set, uid, largest) && selected.seqOf(uid) === undefined);
  if (vanished.length > 0) ctx.untagged([atom('VANISHED'), list([atom('EARLIER')]), seq(compactSequenceSet(vanished))]);
}

/** Sets \Seen on the messages a non-PEEK body fetch reads (RFC 3501 6.4.5); returns those it changed. */
async function markSeen(selected: SelectedSession, uids: readonly number[]): Promise<Set<number>> {
  if (selected.readOnly) return new Set();
  const unseen = uids.filter((uid) => !selected.flagsOf(uid).includes('\\Seen'));
  if (unseen.length === 0) return new Set();
  await selected.folder.store(unseen, 'add', ['\\Seen']);
  return new Set(unseen);
}

/** Streams the responses; returns how many of `uids` were no longer there. */
async function streamMessages(ctx: CommandContext, selected: SelectedSession, request: FetchRequest, uids: readonly number[], byUid: boolean): Promise<number> {
  const seenNow = request.setsSeen ? await markSeen(selected, uids) : new Set<number>();
  const options = { withUid: byUid, withModseq: request.changedSince !== undefined };
  const plain = planItems(request.items, { ...options, seenNow: false });
  const withFlags = seenNow.size > 0 ? planItems(request.items, { ...options, seenNow: true }) : plain;
  const content = readsContent(plain);
  // Without content, the response is written as encoded parts, its ENVELOPE encoded once per message.
  const fast: FetchEncoding | null = !content && ctx.encode && ctx.keepEncoded && ctx.untaggedBytes
    ? { encode: (values) => ctx.encode!(values), keepEncoded: (key, make) => ctx.keepEncoded!(key, make) }
    : null;
  let sent = 0;
  for await (const view of selected.folder.fetch(uids, request.needs)) {
    const seqNumber = selected.seqOf(view.uid);
    if (seqNumber === undefined) continue;
    const seen = seenNow.has(view.uid);
    const known = selected.flagsOf(view.uid);
    const state = {
      flags: seen ? [...known.filter((flag) => flag !== '\\Recent'), '\\Seen', ...known.filter((flag) => flag === '\\Recent')] : known,
      // The MODSEQ that goes with the flags the client is shown; after our own \Seen, the new one.
      modseq: seen ? view.modseq : selected.modseqOf(view.uid),
    };
    const planned = seen ? withFlags : plain;
    if (fast) ctx.untaggedBytes!(encodeSimple(seqNumber, view, planned, state, fast));
    else ctx.untagged([num(seqNumber), atom('FETCH'), content ? await renderFetch(view, planned, state) : renderSimple(view, planned, state)]);
    sent += 1;
    if (sent % BREATHE_EVERY === 0) await breathe(ctx);
  }
  return uids.length - sent;
}

async function runFetch(ctx: CommandContext, byUid: boolean): Promise<void> {
  const selected = requireSelected(ctx);
  if (!selected) return;
  const args = ctx.command.args;
  const request = parseFetch(args.slice(1));
  if ('error' in request) return ctx.bad(request.error);
  const target = messageSet(selected, args[0], byUid);
  if (typeof target === 'string') return ctx.bad(target);
  if (request.vanished && !(byUid && ctx.session.enabled.has('QRESYNC'))) {
    return ctx.bad('VANISHED needs UID FETCH and QRESYNC enabled'); // RFC 7162 3.2.6
  }
  const wantsModseq = request.items.some((item) => item.kind === 'simple' && item.name === 'MODSEQ');
  if (wantsModseq || request.changedSince !== undefined) enableCondstore(ctx);
  let uids = target.uids;
  const since = request.changedSince;
  if (since !== undefined) {
    if (request.vanished) await tellVanished(ctx, selected, target.set, since);
    uids = uids.filter((uid) => selected.modseqOf(uid) > since);
  }
  const missing = await streamMessages(ctx, selected, request, uids, byUid);
  // A non-PEEK fetch's own \Seen went into its responses: only MODSEQ is echoed (RFC 7162 3.1.3).
  await selected.flush(ctx, { expunges: byUid, uid: byUid, silentOwn: request.setsSeen });
  // RFC 2180 4.1.2, RFC 5530 EXPUNGEISSUED: a message another session expunged cannot be read any more;
  // the others were sent, so OK, as Dovecot answers.
  if (missing > 0 && !byUid) return ctx.ok('Some messages were already expunged', 'EXPUNGEISSUED');
  ctx.ok('Fetch completed');
}

export const fetchCommand: CommandSpec = {
  name: 'FETCH',
  states: STATES,
  run: (ctx) => runFetch(ctx, false),
};

export const uidFetchCommand: CommandSpec = {
  name: 'UID FETCH',
  states: STATES,
  run: (ctx) => runFetch(ctx, true),
};
