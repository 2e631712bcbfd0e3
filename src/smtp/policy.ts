// Who may send what where. Port 25 takes mail for our own domains only; submission ports take mail
// from logged-in users, to anywhere, from addresses they own. There is no other way to relay.
// RCPT addresses are looked up exactly as given (after smtp-server drops an RFC 5321 C source route):
// `user%remote@local`, `remote!user@local` and `"user@remote"@local` are local parts of a local
// domain, so they either name a local mailbox or are unknown; nothing here routes on `%`, `!` or quotes.
import type { Directory, MailIntake } from '../core/interfaces.js';
import type { Resolution } from '../core/types.js';
import { parseAddress, validDomainName } from '../core/address.js';
import { replies, type SmtpReply } from './replies.js';
import type { SessionState } from './session.js';

export async function checkSender(directory: Directory, state: SessionState, sender: string): Promise<SmtpReply | null> {
  if (state.listener === 'mx') return null;
  if (!state.user) return replies.authRequired();
  // A user's mail carries their own address; `<>` is for bounces, which users do not send.
  if (!sender || !(await directory.maySendAs(state.user, sender))) return replies.senderNotOwned(sender, state.user);
  return null;
}

export async function routeRecipient(directory: Directory, intake: MailIntake, state: SessionState, recipient: string, hostname: string): Promise<Resolution | SmtpReply> {
  // RFC 5321 4.5.1: `RCPT TO:<Postmaster>` without a domain must be accepted: the box's own postmaster.
  if (recipient.toLowerCase() === 'postmaster') return (await postmaster(directory, intake, hostname)) ?? replies.userUnknown(recipient);
  const parsed = parseAddress(recipient);
  if (!parsed) return replies.userUnknown(recipient);
  const local = await directory.isLocalDomain(parsed.domain);
  if (!local && !(state.listener !== 'mx' && state.user)) return replies.relayDenied(recipient);
  // Refused now rather than accepted, queued and bounced: the sender hears of it while still sending.
  if (!local && !validDomainName(parsed.domain)) return replies.impossibleDomain(recipient);
  return (await intake.route(recipient)) ?? replies.userUnknown(recipient);
}

/** Postmaster of the box's hostname when that is one of its domains, else of its first domain. */
async function postmaster(directory: Directory, intake: MailIntake, hostname: string): Promise<Resolution | null> {
  const domains = await directory.listDomains();
  const domain = domains.includes(hostname.toLowerCase()) ? hostname.toLowerCase() : domains[0];
  return domain ? intake.route(`postmaster@${domain}`) : null;
}
