// One login through the shared LoginGuard (login-guard.ts), the same for every service that takes a
// password (SMTP AUTH, IMAP LOGIN and AUTHENTICATE, later POP3 and the web page): counted before the
// password is hashed, refused outright when the guard says so, and a wrong password answered only after
// the guard's delay. Each service turns the outcome into its own protocol's words.
import { isLetterboxError } from './errors.js';
import type { Authenticator } from './interfaces.js';
import type { LoginGuard } from './login-guard.js';

export type GuardedLogin =
  | { outcome: 'accepted'; user: string }
  /** The guard refused before any password check: too many failures from the address or at the account. */
  | { outcome: 'refused'; limit: 'address' | 'account' }
  /** Too many password checks waiting already (store/passwords.ts): a temporary refusal. */
  | { outcome: 'busy' }
  /** A wrong password or an unknown name; `delayMs` has already passed when this resolves. */
  | { outcome: 'wrong'; delayMs: number };

/** Any other fault of the authenticator is thrown, the attempt counted as neither success nor failure. */
export async function guardedLogin(guard: Pick<LoginGuard, 'begin'>, authenticator: Authenticator, client: string, username: string, password: string): Promise<GuardedLogin> {
  const admission = guard.begin(client, username);
  if (!admission.admitted) return { outcome: 'refused', limit: admission.refused };
  const { attempt } = admission;
  let user: string | null;
  try {
    user = await authenticator.authenticate(username, password);
  } catch (err) {
    attempt.abandoned();
    if (isLetterboxError(err, 'BUSY')) return { outcome: 'busy' };
    throw err;
  }
  if (!user) {
    const delayMs = attempt.failed();
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { outcome: 'wrong', delayMs };
  }
  attempt.succeeded();
  return { outcome: 'accepted', user };
}
