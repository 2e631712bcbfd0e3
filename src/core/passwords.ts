// What a new password must be, the same whether the CLI opens the store itself or asks the running
// service: long enough to resist guessing, short enough that hashing it is no work for an attacker to
// hand us (scrypt reads all of it), and nothing a line-based protocol (AUTH, the admin socket) mangles.
import { LetterboxError } from './errors.js';

export const MIN_PASSWORD_CHARACTERS = 8;
export const MAX_PASSWORD_BYTES = 1024;

export function checkNewPassword(password: string): void {
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new LetterboxError('INVALID', `a password can have at most ${MAX_PASSWORD_BYTES} bytes`);
  if (/[\r\n\0]/.test(password)) throw new LetterboxError('INVALID', 'a password cannot contain line breaks or NUL');
  // Spaces around it are kept (a passphrase may have them) but do not count towards its length.
  if ([...password.trim()].length < MIN_PASSWORD_CHARACTERS) throw new LetterboxError('INVALID', `a password needs at least ${MIN_PASSWORD_CHARACTERS} characters besides spaces`);
}
