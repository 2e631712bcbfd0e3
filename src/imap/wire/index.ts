// The IMAP wire format: the incremental command parser, the response encoder, mailbox name encoding.
export { CommandParser, LITERAL_MINUS_MAX, type ParserOptions } from './command-parser.js';
export { MAX_NESTING } from './command-builder.js';
export * from './arguments.js';
export * from './encoder.js';
export { decodeMailboxName, encodeMailboxName } from './mailbox-name.js';
export * from './sequence-set.js';
export type * from './values.js';
