// What LOGIN and AUTHENTICATE share: the check that a password may be sent here, the backend's check of
// it, the per-user session limit, and the move to the authenticated state with the new capabilities.
import { ImapBackendError, type ImapAccount } from '../backend.js';
import type { ConnectionContext } from '../command.js';

/** RFC 3501 6.2.3 with RFC 5530 PRIVACYREQUIRED: no password over a clear connection off loopback. */
export function refuseCleartext(ctx: ConnectionContext): boolean {
  if (ctx.connection.loginAllowed) return false;
  ctx.no('Log in over TLS: use STARTTLS or port 993', 'PRIVACYREQUIRED');
  return true;
}

/** Checks the password (the backend's login guard may slow or refuse it) and logs the session in. */
export async function logIn(ctx: ConnectionContext, username: string, password: string): Promise<void> {
  let account: ImapAccount;
  try {
    account = await ctx.connection.backend.login(username, password, ctx.session.client);
  } catch (err) {
    if (err instanceof ImapBackendError && err.code === 'AUTHENTICATIONFAILED') ctx.connection.loginFailed();
    throw err;
  }
  if (!ctx.connection.admit(account)) {
    account.close();
    ctx.no('Too many sessions for this user', 'LIMIT');
    return;
  }
  ctx.session.account = account;
  ctx.session.state = 'authenticated';
  // RFC 3501 7.2.1 allows the capabilities in the OK; clients then need not ask again.
  ctx.ok('Logged in', `CAPABILITY ${ctx.session.capabilities().join(' ')}`);
}
