// The mailbox module: the IMAP backend on the folder store (and the MIME indexer it relies on).
export { createImapBackend, type ImapBackendDeps, type LetterboxImapBackend } from './imap-backend.js';
export { envelopeSummary } from './fetch.js';
