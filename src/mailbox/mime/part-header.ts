// What a part's header says about the part (RFC 2045 and RFC 2046), applied to its index entry.
import { decodeWords, parseContentType, parseDisposition, parseLanguage, parseTransferEncoding } from './content-fields.js';
import { buildEnvelope } from './envelope.js';
import { firstField, type HeaderFields } from './header-fields.js';
import type { MimePart } from './types.js';

/** The media type a part gets without a usable Content-Type. */
export interface DefaultType {
  type: string;
  subtype: string;
}

/** RFC 2045 5.2: text/plain (charset us-ascii, added when rendering), ... */
export const TEXT_PLAIN: DefaultType = { type: 'text', subtype: 'plain' };
/** ... except in a multipart/digest, whose parts default to message/rfc822 (RFC 2046 5.1.5). */
export const MESSAGE_RFC822: DefaultType = { type: 'message', subtype: 'rfc822' };

/** A part with no header read yet: every field at its default. */
export function blankPart(section: string, headerStart: number, fallback: DefaultType): MimePart {
  return {
    section,
    header: { start: headerStart, length: 0 },
    body: { start: headerStart, length: 0 },
    headerBareLf: 0,
    bodyBareLf: 0,
    bodyLines: 0,
    headerTruncated: false,
    type: fallback.type,
    subtype: fallback.subtype,
    typeGiven: false,
    params: [],
    id: null,
    description: null,
    decodedDescription: null,
    encoding: null,
    md5: null,
    disposition: null,
    language: null,
    location: null,
    boundary: null,
    children: [],
    message: null,
    envelope: null,
  };
}

/**
 * Fills `part` from its header fields. MIME-Version is not required (RFC 2045 4 asks for it, but
 * Dovecot 2.3 and most readers do not, and a Content-Type without it still says what the sender meant).
 */
export function applyHeader(part: MimePart, fields: HeaderFields, isMessageRoot: boolean): void {
  const contentType = firstField(fields, 'content-type');
  const parsed = contentType === null ? null : parseContentType(contentType);
  if (parsed) {
    part.type = parsed.type;
    part.subtype = parsed.subtype;
    part.params = parsed.params;
    part.typeGiven = true;
  }
  const encoding = firstField(fields, 'content-transfer-encoding');
  part.encoding = encoding === null ? null : parseTransferEncoding(encoding);
  part.id = firstField(fields, 'content-id');
  part.description = firstField(fields, 'content-description');
  part.decodedDescription = part.description === null ? null : decodeWords(part.description);
  part.md5 = firstField(fields, 'content-md5');
  part.location = firstField(fields, 'content-location');
  const disposition = firstField(fields, 'content-disposition');
  part.disposition = disposition === null ? null : parseDisposition(disposition);
  const language = firstField(fields, 'content-language');
  part.language = language === null ? null : parseLanguage(language);
  if (isMultipart(part)) {
    // RFC 2046 5.1.1: the boundary; a multipart without one cannot be split and is indexed as a leaf.
    const boundary = part.params.find((p) => p.name === 'boundary')?.value ?? '';
    part.boundary = boundary.length > 0 ? boundary : null;
  }
  if (isMessageRoot) part.envelope = buildEnvelope(fields);
}

export function isMultipart(part: MimePart): boolean {
  return part.typeGiven && part.type.toLowerCase() === 'multipart';
}

/**
 * Whether a message/rfc822 part's body is read as a message: always. RFC 2046 5.2.1 allows only 7bit,
 * 8bit and binary for it; a body sent in base64 or quoted-printable anyway is read as it stands, as
 * Dovecot does, which gives an enclosed message that is all header (its lines have no colon, so the
 * envelope is empty) with an empty text/plain body: BODYSTRUCTURE stays complete per RFC 3501 7.4.2
 * (body-type-msg needs an envelope, a body and a line count).
 */
export function enclosesMessage(part: MimePart): boolean {
  return part.type.toLowerCase() === 'message' && part.subtype.toLowerCase() === 'rfc822';
}
