// Who may send what where. Port 25 takes mail for our own domains only; submission ports take mail
// from logged-in users, to anywhere, from addresses they own. There is no other way to relay.
// RCPT addresses are looked up exactly as given (after smtp-server drops an RFC 5321 C source route):
// `user%remote@local`, `remote!user@local` and `"user@remote"@local` are local parts of a local
// domain, so they either name a local mailbox or are unknown; nothing here routes on `%`, `!` or quotes.
import type { Directory } from '../core/interfaces.js';
import type { Resolution } from '../core/types.js';
import { parseAddress } from '../core/address.js';
import { replies, type SmtpReplyError } from './replies.js';
import type { SessionState } from './session.js';

export async function checkSender(directory: Directory, state: SessionState, sender: string): Promise<SmtpReplyError | null> {
  if (state.listener === 'mx') return null;
  if (!state.user) return replies.authRequired();
  // A user's mail carries their own address; `<>` is for bounces, which users do not send.
  if (!sender || !(await directory.maySendAs(state.user, sender))) return replies.senderNotOwned(sender, state.user);
  return null;
}

export async function routeRecipient(directory: Directory, state: SessionState, recipient: string): Promise<Resolution | SmtpReplyError> {
  const parsed = parseAddress(recipient);
  if (!parsed) return replies.userUnknown(recipient);
  if (await directory.isLocalDomain(parsed.domain)) {
    return (await directory.resolve(recipient)) ?? replies.userUnknown(recipient);
  }
  if (state.listener !== 'mx' && state.user) return { local: [], remote: [recipient] };
  return replies.relayDenied(recipient);
}
