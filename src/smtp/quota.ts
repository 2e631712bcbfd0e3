// Quotas at the SMTP door. A mailbox already at or over its quota refuses new mail at RCPT with a
// temporary 452 4.2.2 (RFC 3463 X.2.2 "mailbox full": the sender keeps trying while its owner makes
// room), and a message declared (MAIL SIZE=, RFC 1870) or found at the end of DATA to be larger than
// the whole quota is refused for good, 552 5.2.2. A message that reaches DATA for a mailbox under its
// quota is delivered even if it takes it over (a soft limit, like Dovecot's quota grace): refusing a
// message already received costs the sender a bounce for a mailbox that had room a moment before.
// Where one recipient reaches several mailboxes (an alias), only the full ones are left out.
import type { Logger } from 'pino';
import type { Directory, NewMessage } from '../core/interfaces.js';
import type { Resolution } from '../core/types.js';
import { reply, type SmtpReply } from './replies.js';

export const quotaReplies = {
  mailboxFull: (rcpt: string) => reply(452, '4.2.2', `<${rcpt}>: Mailbox full`),
  // RFC 1870 6.2: the declared size exceeds what the mailbox can ever take.
  tooLargeForMailbox: (rcpt: string) => reply(552, '5.2.2', `<${rcpt}>: Message too large for the mailbox's quota`),
  tooLargeForAll: () => reply(552, '5.2.2', "Message too large for the recipients' mailbox quotas"),
};

/**
 * RCPT TO: the route without the mailboxes that cannot take the message, or the refusal when none is
 * left. The quota of each mailbox with one is noted in `quotas`, for the end of DATA.
 */
export async function withoutFullMailboxes(directory: Directory, route: Resolution, rcpt: string, declaredSize: number | undefined, quotas: Map<string, number>, log: Logger): Promise<Resolution | SmtpReply> {
  if (!directory.quotaState || route.local.length === 0) return route;
  const kept: string[] = [];
  let full = false;
  for (const user of route.local) {
    const state = await directory.quotaState(user);
    if (state && state.quota > 0) quotas.set(user, state.quota);
    if (!state || state.quota <= 0) kept.push(user);
    else if (declaredSize !== undefined && declaredSize > state.quota) log.info({ rcpt, user, declaredSize, quota: state.quota }, 'recipient refused: the declared size is over the quota');
    else if (state.bytes >= state.quota) {
      full = true;
      log.info({ rcpt, user, used: state.bytes, quota: state.quota }, 'recipient refused: mailbox full');
    } else kept.push(user);
  }
  if (kept.length === route.local.length) return route;
  if (kept.length > 0 || route.remote.length > 0) return { local: kept, remote: route.remote };
  // A temporary answer when any of them may have room later.
  return full ? quotaReplies.mailboxFull(rcpt) : quotaReplies.tooLargeForMailbox(rcpt);
}

/**
 * End of DATA: leaves out the mailboxes the message alone is larger than the quota of (as noted at
 * RCPT: nothing is read from the store here), with a log line; refuses the message (552 5.2.2) when
 * nobody is left.
 */
export function withoutTooSmallMailboxes(message: NewMessage, size: number, quotas: ReadonlyMap<string, number>, log: Logger): NewMessage | SmtpReply {
  const tooSmall = new Set(message.recipients.flatMap((r) => r.route.local).filter((user) => size > (quotas.get(user) ?? Infinity)));
  if (tooSmall.size === 0) return message;
  const recipients = message.recipients
    .map((r) => ({ ...r, route: { local: r.route.local.filter((u) => !tooSmall.has(u)), remote: r.route.remote } }))
    .filter((r) => r.route.local.length + r.route.remote.length > 0);
  if (recipients.length === 0) return quotaReplies.tooLargeForAll();
  log.warn({ users: [...tooSmall], size }, 'message not delivered to mailboxes whose whole quota is smaller than it');
  return { ...message, recipients };
}
