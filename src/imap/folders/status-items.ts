// STATUS data items (RFC 3501 6.3.10; RFC 7162 3.1.7 HIGHESTMODSEQ; RFC 8438 SIZE; RFC 7889
// APPENDLIMIT), shared by STATUS and by LIST's STATUS return option (RFC 5819).
import type { Session } from '../command.js';
import type { FolderStatus } from '../backend.js';
import { keyword } from '../wire/arguments.js';
import { atom, list, NIL, num, type ResponseValue } from '../wire/encoder.js';
import type { ImapValue } from '../wire/values.js';
import { mailboxValue } from './names.js';

export const STATUS_ITEMS = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'APPENDLIMIT'] as const;
export type StatusItem = (typeof STATUS_ITEMS)[number];

/**
 * The items of `(UNSEEN MESSAGES ...)`, or null when one is unknown or the list empty. They are answered
 * in one fixed order, the order of STATUS_ITEMS, as Dovecot answers (RFC 3501 7.2.4 sets none).
 */
export function readStatusItems(items: readonly ImapValue[]): StatusItem[] | null {
  if (items.length === 0) return null;
  const out: StatusItem[] = [];
  for (const item of items) {
    const name = keyword(item);
    if (name === null || !(STATUS_ITEMS as readonly string[]).includes(name)) return null;
    if (!out.includes(name as StatusItem)) out.push(name as StatusItem);
  }
  return out.sort((a, b) => STATUS_ITEMS.indexOf(a) - STATUS_ITEMS.indexOf(b));
}

/** The largest message APPEND takes here, bytes, 0 for none (RFC 7889). */
export function appendLimitOf(session: Session): number {
  const account = session.account?.appendLimit ?? 0;
  const server = session.limits.maxMessageSize;
  if (account > 0 && server > 0) return Math.min(account, server);
  return account > 0 ? account : server;
}

function itemValue(item: StatusItem, status: FolderStatus, session: Session): ResponseValue {
  switch (item) {
    case 'MESSAGES':
      return num(status.messages);
    case 'RECENT':
      return num(status.recent);
    case 'UIDNEXT':
      return num(status.uidNext);
    case 'UIDVALIDITY':
      return num(status.uidValidity);
    case 'UNSEEN':
      return num(status.unseen);
    case 'HIGHESTMODSEQ':
      return num(status.highestModseq);
    case 'SIZE':
      return num(status.size);
    case 'APPENDLIMIT': {
      const limit = appendLimitOf(session);
      return limit > 0 ? num(limit) : NIL;
    }
  }
}

/** `* STATUS name (ITEM n ...)` as untagged values. */
export function statusResponse(name: string, items: readonly StatusItem[], status: FolderStatus, session: Session): ResponseValue[] {
  const pairs = items.flatMap((item) => [atom(item), itemValue(item, status, session)]);
  return [atom('STATUS'), mailboxValue(name, session), list(pairs)];
}

/** RFC 7162 3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command. */
export function enablesCondstore(items: readonly StatusItem[]): boolean {
  return items.includes('HIGHESTMODSEQ');
}
