// SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2; RFC 7162 3.1.8 CONDSTORE, 3.2.5 QRESYNC): the one
// procedure behind both commands. Any selected folder is closed first, so a SELECT that fails leaves
// the session authenticated (RFC 3501 6.3.1); the answer is then, in Dovecot's order, FLAGS,
// PERMANENTFLAGS, EXISTS, RECENT, UNSEEN, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, and under QRESYNC the
// VANISHED (EARLIER) and FETCH of what changed since the client's mod-sequence.
import type { CommandContext, SelectedSession } from '../command.js';
import type { SelectedFolder } from '../backend.js';
import { atom, isAtomText, list, num, seq, type ResponseValue } from '../wire/encoder.js';
import { compactSequenceSet } from '../wire/sequence-set.js';
import { columnsOf, firstUnseenIndex } from '../selected.js';
import { accountOf, argumentCount } from './command-helpers.js';
import { readMailbox } from './names.js';
import { tellIfOverQuota } from './over-quota.js';
import { readSelectParams, setHas, type QresyncParams } from './select-params.js';

/** RFC 3501 2.3.2 system flags a client may set (\Recent it may not). */
export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/**
 * Closes the selected folder and says so with `[CLOSED]` (RFC 7162 3.2.11), the boundary between the
 * old folder's responses and the new one's. Sent whether or not QRESYNC is enabled, as Dovecot and
 * IMAP4rev2 (RFC 9051 6.3.2) do; a client that does not know the code ignores it (RFC 3501 7.1).
 */
export function closeSelected(ctx: CommandContext): void {
  if (!ctx.session.selected) return;
  ctx.session.deselect();
  ctx.untaggedStatus('OK', 'Previous mailbox closed.', 'CLOSED');
}

function flagResponses(ctx: CommandContext, folder: SelectedFolder, readOnly: boolean): void {
  const flags = [...SYSTEM_FLAGS, ...folder.keywords.filter((k) => isAtomText(k) && !k.startsWith('\\'))];
  ctx.untagged([atom('FLAGS'), list(flags.map((f) => atom(f)))]);
  // RFC 3501 7.1: `\*` says new keywords can be made; a read-only folder keeps none (RFC 3501 6.3.2 example).
  if (readOnly) ctx.untaggedStatus('OK', 'Read-only mailbox.', 'PERMANENTFLAGS ()');
  else ctx.untaggedStatus('OK', 'Flags permitted.', `PERMANENTFLAGS (${[...flags, '\\*'].join(' ')})`);
}

function stateResponses(ctx: CommandContext, folder: SelectedFolder, selected: SelectedSession): void {
  ctx.untagged([num(selected.exists), atom('EXISTS')]);
  ctx.untagged([num(folder.recent.length), atom('RECENT')]);
  const firstUnseen = firstUnseenIndex(columnsOf(folder));
  if (firstUnseen >= 0) ctx.untaggedStatus('OK', 'First unseen.', `UNSEEN ${firstUnseen + 1}`);
  ctx.untaggedStatus('OK', 'UIDs valid', `UIDVALIDITY ${folder.uidValidity}`);
  ctx.untaggedStatus('OK', 'Predicted next UID', `UIDNEXT ${folder.uidNext}`);
  ctx.untaggedStatus('OK', 'Highest', `HIGHESTMODSEQ ${folder.highestModseq}`);
}

/** RFC 7162 3.2.5.1: what the client missed since `params.modseq`, when its UIDVALIDITY still holds. */
async function resync(ctx: CommandContext, folder: SelectedFolder, selected: SelectedSession, params: QresyncParams): Promise<void> {
  if (params.uidValidity !== folder.uidValidity) return;
  const { uids, modseqs } = columnsOf(folder);
  const largest = uids.at(-1) ?? 0;
  const known = (uid: number) => params.knownUids === null || setHas(params.knownUids, uid, largest);
  const present = new Set(uids);
  const vanished = (await folder.vanishedSince(params.modseq)).filter((uid) => uid < folder.uidNext && !present.has(uid) && known(uid));
  if (vanished.length > 0) ctx.untagged([atom('VANISHED'), list([atom('EARLIER')]), seq(compactSequenceSet(vanished))]);
  for (let i = 0; i < uids.length; i += 1) {
    const uid = uids[i] as number;
    if ((modseqs[i] as number) <= params.modseq || !known(uid)) continue;
    const seqNumber = selected.seqOf(uid);
    if (seqNumber === undefined) continue;
    const items: ResponseValue[] = [
      atom('UID'), num(uid),
      atom('FLAGS'), list(selected.flagsOf(uid).map((f) => atom(f))),
      atom('MODSEQ'), list([num(selected.modseqOf(uid))]),
    ];
    ctx.untagged([num(seqNumber), atom('FETCH'), list(items)]);
  }
}

/** SELECT (`readOnly` false) or EXAMINE (true). */
export async function openFolder(ctx: CommandContext, readOnly: boolean): Promise<void> {
  if (!argumentCount(ctx, 1, 2)) return;
  const [mailbox, paramList] = ctx.command.args;
  const params = readSelectParams(paramList);
  if (typeof params === 'string') return ctx.bad(params);
  // RFC 7162 3.2.5: QRESYNC is a parameter only once the client has enabled it.
  if (params.qresync && !ctx.session.enabled.has('QRESYNC')) return ctx.bad('QRESYNC parameter without ENABLE QRESYNC');
  const reading = readMailbox(mailbox, ctx.session);
  if ('error' in reading && reading.error === 'bad') return ctx.bad(reading.text);
  closeSelected(ctx);
  if ('error' in reading) return ctx.no(reading.text, 'NONEXISTENT');
  const folder = await accountOf(ctx).select(reading.name, { readOnly });
  // RFC 7162 3.1.8, 3.2.5: either parameter turns CONDSTORE on for the session.
  if (params.condstore || params.qresync) ctx.session.enabled.add('CONDSTORE');
  const selected = ctx.session.select(folder);
  const writable = !readOnly && !folder.readOnly;
  try {
    flagResponses(ctx, folder, !writable);
    stateResponses(ctx, folder, selected);
    if (params.qresync) await resync(ctx, folder, selected, params.qresync);
    await tellIfOverQuota(ctx);
  } catch (error) {
    ctx.session.deselect();
    throw error;
  }
  ctx.ok(`${readOnly ? 'EXAMINE' : 'SELECT'} completed`, writable ? 'READ-WRITE' : 'READ-ONLY');
}
