// What the message commands (FETCH, STORE, COPY, MOVE, SEARCH, EXPUNGE) share: reading the message set
// against the selected folder, and turning CONDSTORE on by first use (RFC 7162 3.1).
import type { CommandContext, SelectedSession } from '../command.js';
import { sequenceArg } from '../wire/arguments.js';
import type { SequenceSet } from '../wire/sequence-set.js';
import type { ImapValue } from '../wire/values.js';

/**
 * A sequence set's messages as UIDs in ascending order, or an error text for BAD. Sequence numbers
 * beyond the messages the client knows are an error (RFC 3501 6.4.5 "message sequence number";
 * Dovecot answers `BAD Invalid messageset`, which is what clients are used to); UIDs that are not
 * there are ignored (RFC 3501 6.4.8).
 */
export function messageSet(selected: SelectedSession, value: ImapValue | undefined, byUid: boolean): { set: SequenceSet; uids: number[] } | string {
  const set = sequenceArg(value);
  if (!set) return 'Invalid message set';
  if (!byUid) {
    for (const range of set.ranges) {
      for (const bound of [range.start, range.end]) {
        if (bound === '*' ? selected.exists === 0 : bound > selected.exists) return 'Invalid messageset';
      }
    }
  }
  return { set, uids: selected.resolve(set, byUid) };
}

/** Whether `uid` is in `set` read as UIDs, `*` being `largest` (RFC 3501 9, 6.4.8). */
export function uidSetContains(set: SequenceSet, uid: number, largest: number): boolean {
  return set.ranges.some((range) => {
    const a = range.start === '*' ? largest : range.start;
    const b = range.end === '*' ? largest : range.end;
    return uid >= Math.min(a, b) && uid <= Math.max(a, b);
  });
}

/**
 * RFC 7162 3.1: a CONDSTORE-enabling command (FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH
 * MODSEQ) turns the extension on; the first time, with a folder selected, the client is told the
 * folder's HIGHESTMODSEQ (RFC 7162 3.1.2.1) so it can resynchronise later.
 */
export function enableCondstore(ctx: CommandContext): void {
  const session = ctx.session;
  // QRESYNC implies CONDSTORE (RFC 7162 3.2.3).
  if (session.enabled.has('CONDSTORE') || session.enabled.has('QRESYNC')) return;
  session.enabled.add('CONDSTORE');
  if (session.selected) ctx.untaggedStatus('OK', 'Highest', `HIGHESTMODSEQ ${session.selected.highestModseq}`);
}

/** The selected session, or a BAD answer when there is none (the connection checks the state first). */
export function requireSelected(ctx: CommandContext): SelectedSession | null {
  const selected = ctx.session.selected;
  if (!selected) ctx.bad('No mailbox selected');
  return selected;
}

/** How many responses a long command writes before it waits for the socket to take them. */
export const BREATHE_EVERY = 64;

/** Lets the socket take what was written (backpressure), so a slow reader does not grow memory. */
export async function breathe(ctx: CommandContext): Promise<void> {
  if (ctx.drained) await ctx.drained();
}
