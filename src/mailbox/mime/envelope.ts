// RFC 3501 7.4.2 ENVELOPE from a message's header fields. Values stay as written (unfolded); address
// fields are parsed (RFC 5322 3.4, groups kept); Sender and Reply-To take From's value when absent or
// empty, as RFC 3501 7.4.2 says the server does.
import { parseAddressList } from './address.js';
import { decodeWords } from './content-fields.js';
import { firstField, type HeaderFields } from './header-fields.js';
import type { Address, Envelope } from './types.js';

function addresses(fields: HeaderFields, name: string): Address[] | null {
  const value = firstField(fields, name);
  if (value === null) return null;
  const list = parseAddressList(value);
  return list.length > 0 ? list : null;
}

export function buildEnvelope(fields: HeaderFields): Envelope {
  const from = addresses(fields, 'from');
  const subject = firstField(fields, 'subject');
  return {
    date: firstField(fields, 'date'),
    subject,
    from,
    sender: addresses(fields, 'sender') ?? from,
    replyTo: addresses(fields, 'reply-to') ?? from,
    to: addresses(fields, 'to'),
    cc: addresses(fields, 'cc'),
    bcc: addresses(fields, 'bcc'),
    inReplyTo: firstField(fields, 'in-reply-to'),
    messageId: firstField(fields, 'message-id'),
    decodedSubject: subject === null ? null : decodeWords(subject),
  };
}
