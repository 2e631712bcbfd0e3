// The store's coded errors as IMAP response codes (RFC 5530). Anything that is not a LetterboxError a
// client can act on propagates unchanged: the server logs it and answers NO [SERVERBUG].
import { isLetterboxError } from '../core/errors.js';
import { ImapBackendError } from '../imap/backend.js';

/** RFC 5530 code for each store error a client caused; the rest are faults. */
const CODES: Partial<Record<string, string>> = {
  NOT_FOUND: 'NONEXISTENT',
  ALREADY_EXISTS: 'ALREADYEXISTS',
  INVALID: 'CANNOT',
  TOO_LARGE: 'OVERQUOTA',
  // Too many password checks or writes waiting: a temporary refusal.
  BUSY: 'UNAVAILABLE',
  STORE_BUSY: 'UNAVAILABLE',
};

/** Texts safe to show: the store's own messages may name ids, so the client gets a fixed one. */
const TEXTS: Record<string, string> = {
  NONEXISTENT: 'No such mailbox',
  ALREADYEXISTS: 'Mailbox already exists',
  CANNOT: 'Cannot do that to this mailbox',
  OVERQUOTA: 'Quota exceeded',
  UNAVAILABLE: 'Try again later',
  TRYCREATE: 'No such mailbox; create it first',
};

export function backendError(code: string, text = TEXTS[code] ?? code): ImapBackendError {
  return new ImapBackendError(code, text);
}

/** Rethrows `err` as an ImapBackendError when the store said what the client did wrong. */
export function asImapError(err: unknown, overrides: Partial<Record<string, string>> = {}): unknown {
  if (err instanceof ImapBackendError || !isLetterboxError(err)) return err;
  const code = overrides[err.code] ?? CODES[err.code];
  return code ? backendError(code) : err;
}

/** Runs a store call and translates its client errors. */
export async function translated<T>(call: () => Promise<T>, overrides: Partial<Record<string, string>> = {}): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw asImapError(err, overrides);
  }
}
