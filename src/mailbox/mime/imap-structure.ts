// The index rendered as RFC 3501 7.4.2 values: ENVELOPE, BODY (no extension data) and BODYSTRUCTURE
// (with it), as nested arrays of strings, numbers and null (NIL) that the IMAP encoder writes out,
// choosing quoted or literal form for each string.
import type { Address, Disposition, Envelope, MailboxAddress, MimeParameter, MimePart } from './types.js';

export type ImapValue = string | number | null | ImapValue[];

export interface StructureOptions {
  /** BODYSTRUCTURE (true) or BODY (false): RFC 3501 7.4.2 body-ext-1part / body-ext-mpart. */
  extended: boolean;
  /**
   * Give sizes as if every bare LF were CRLF (what Dovecot reports, RFC 3501 2.3.1 wants CRLF on the
   * wire). Leave it false when FETCH sends the stored bytes unchanged, so sizes match what is sent.
   */
  crlfSizes?: boolean;
}

/** RFC 3501 7.4.2: `(name adl mailbox host)`. */
function mailboxValue(address: MailboxAddress): ImapValue {
  return [address.name, address.route, address.mailbox, address.host];
}

/** RFC 3501 7.4.2 address list; a group is `(NIL NIL name NIL)`, its members, then `(NIL NIL NIL NIL)`. */
export function addressListValue(list: Address[] | null): ImapValue {
  if (!list || list.length === 0) return null;
  const out: ImapValue[] = [];
  for (const address of list) {
    if (address.kind === 'mailbox') out.push(mailboxValue(address));
    else out.push([null, null, address.name, null], ...address.members.map(mailboxValue), [null, null, null, null]);
  }
  return out;
}

/** RFC 3501 7.4.2 envelope: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. */
export function envelopeValue(envelope: Envelope | null): ImapValue {
  const e = envelope ?? emptyEnvelope();
  return [
    e.date, e.subject, addressListValue(e.from), addressListValue(e.sender), addressListValue(e.replyTo),
    addressListValue(e.to), addressListValue(e.cc), addressListValue(e.bcc), e.inReplyTo, e.messageId,
  ];
}

function emptyEnvelope(): Envelope {
  return { date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null, decodedSubject: null };
}

/** `body-fld-param`: a flat list of name/value pairs, names as sent (as Dovecot), or NIL when there are none. */
function paramsValue(params: MimeParameter[]): ImapValue {
  return params.length === 0 ? null : params.flatMap((p) => [p.sentName ?? p.name, p.value]);
}

/** `body-fld-dsp`: `(type params)` or NIL. */
function dispositionValue(disposition: Disposition | null): ImapValue {
  return disposition ? [disposition.value, paramsValue(disposition.params)] : null;
}

function lower(text: string): string {
  return text.toLowerCase();
}

/**
 * BODY or BODYSTRUCTURE of a part (the index root for the whole message). RFC 3501 7.4.2 grammar:
 * body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]; body-type-1part = (body-type-basic /
 * body-type-msg / body-type-text) [SP body-ext-1part].
 */
export function bodyStructureValue(part: MimePart, options: StructureOptions): ImapValue[] {
  // A multipart without a boundary is still written as a multipart (Dovecot's answer; see indexer.ts).
  if (part.boundary !== null || (part.typeGiven && lower(part.type) === 'multipart')) return multipartValue(part, options);
  const text = lower(part.type) === 'text';
  const message = part.message;
  const out: ImapValue[] = [part.type, part.subtype, paramsValue(withDefaultCharset(part, text)), part.id, part.description, part.encoding ?? '7bit'];
  out.push(part.body.length + (options.crlfSizes ? part.bodyBareLf : 0));
  if (message) out.push(envelopeValue(message.envelope), bodyStructureValue(message, options), part.bodyLines);
  else if (text) out.push(part.bodyLines);
  if (options.extended) out.push(part.md5, dispositionValue(part.disposition), part.language, part.location);
  return out;
}

function multipartValue(part: MimePart, options: StructureOptions): ImapValue[] {
  // RFC 2046 5.1.1 asks for at least one body part; for none, an empty text/plain stands in, as
  // RFC 3501's grammar (1*body) needs one and as Dovecot writes.
  const children = part.children.length > 0 ? part.children.map((c) => bodyStructureValue(c, options)) : [emptyTextPart(options)];
  const out: ImapValue[] = [...children, part.subtype];
  if (options.extended) out.push(paramsValue(part.params), dispositionValue(part.disposition), part.language, part.location);
  return out;
}

function emptyTextPart(options: StructureOptions): ImapValue[] {
  const basic: ImapValue[] = ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 0, 0];
  return options.extended ? [...basic, null, null, null, null] : basic;
}

/** RFC 2045 5.2: a text part without a charset is us-ascii; the parameter is written out (appended). */
function withDefaultCharset(part: MimePart, text: boolean): MimeParameter[] {
  if (!text || part.params.some((p) => p.name === 'charset' || p.name === 'charset*')) return part.params;
  return [...part.params, { name: 'charset', value: 'us-ascii', decoded: 'us-ascii' }];
}
