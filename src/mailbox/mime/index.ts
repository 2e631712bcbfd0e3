// The streaming MIME indexer (issue 7): index a message once as it is stored; render ENVELOPE and
// BODY/BODYSTRUCTURE from the index without reading the message again.
export { MimeIndexer, indexMessage, indexBuffer, HEADER_CAP, MAX_DEPTH, MAX_PARTS } from './indexer.js';
export { bodyStructureValue, envelopeValue, addressListValue, type ImapValue, type StructureOptions } from './imap-structure.js';
export { MISSING_DOMAIN, MISSING_MAILBOX } from './address.js';
export type { Address, ByteRange, Disposition, Envelope, GroupAddress, MailboxAddress, MessageIndex, MimeParameter, MimePart } from './types.js';
