// On submission the message's authors must be the user's own, not only the envelope sender: `From:`
// and `Sender:` (RFC 5322 3.6.2) may name only addresses the logged-in user may send as, as maddy's
// authorize_sender checks both. Otherwise any user could mail a colleague as "The Boss".
import addressparser from 'nodemailer/lib/addressparser';
import type { Directory } from '../core/interfaces.js';
import { headerValues } from '../core/rfc5322.js';
import { reply, type SmtpReply } from './replies.js';

/** Every address the From and Sender headers name; '' for an entry without one (a bare name). */
export function authorAddresses(block: string): string[] {
  const addresses: string[] = [];
  for (const value of [...headerValues(block, 'From'), ...headerValues(block, 'Sender')]) {
    for (const entry of addressparser(value)) {
      const members = 'group' in entry && entry.group ? entry.group : [entry];
      for (const member of members) addresses.push('address' in member ? (member.address ?? '') : '');
    }
  }
  return addresses;
}

/** The refusal for a message whose From or Sender names an address `user` does not own, else null. */
export async function checkAuthors(directory: Directory, user: string, block: string): Promise<SmtpReply | null> {
  for (const address of authorAddresses(block)) {
    if (!address) return reply(553, '5.7.1', 'From: or Sender: header without an address; use your own address');
    if (!(await directory.maySendAs(user, address))) return reply(553, '5.7.1', `<${address}>: From: or Sender: address not owned by user ${user}`);
  }
  return null;
}
