// The IMAP backend on the folder store (DESIGN.md principle 2): LOGIN through the login guard shared
// with SMTP, then an Account per session. main.ts calls createImapBackend() with the store's parts.
import type { Logger } from 'pino';
import { guardedLogin } from '../core/guarded-login.js';
import type { Authenticator, FolderStore, MailStore } from '../core/interfaces.js';
import type { LoginAdmission } from '../core/login-guard.js';
import type { ImapAccount, ImapBackend, ImapClient } from '../imap/backend.js';
import { Account } from './account.js';
import { backendError } from './errors.js';
import { LiveFolders } from './live-folders.js';

export interface ImapBackendDeps {
  folders: FolderStore;
  /** Where APPEND writes message bytes before FolderStore.append() commits them. */
  mail: Pick<MailStore, 'createMessage'>;
  authenticator: Authenticator;
  /** The process's one LoginGuard (core/login-guard.ts), shared with SMTP AUTH. */
  loginGuard: { begin(address: string, username: string): LoginAdmission };
  /** The largest APPEND, bytes (the `imap` config's limit); 0 for none. */
  appendLimit: number;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Rendered ENVELOPEs kept for FETCH (envelope-cache.ts); default 10,000. */
  envelopeCacheSize?: number;
}

/** The backend, with stop() for the wiring (it listens to the store). */
export interface LetterboxImapBackend extends ImapBackend {
  stop(): void;
}

class FolderStoreBackend implements LetterboxImapBackend {
  private readonly live: LiveFolders;

  constructor(private readonly deps: ImapBackendDeps) {
    this.live = new LiveFolders(deps.folders, deps.envelopeCacheSize, (err) => deps.log?.warn({ err }, 'a session failed to take a folder change'));
  }

  /**
   * The guard counts the attempt before the password is checked and may refuse it outright; a wrong
   * password is answered after the guard's delay, as SMTP AUTH is (smtp/server.ts).
   */
  async login(username: string, password: string, client: ImapClient): Promise<ImapAccount> {
    const login = await guardedLogin(this.deps.loginGuard, this.deps.authenticator, client.remoteAddress, username, password);
    switch (login.outcome) {
      case 'refused':
        this.deps.log?.info({ username, remoteAddress: client.remoteAddress, limit: login.limit }, 'IMAP login refused: too many failures');
        throw backendError('UNAVAILABLE', 'Too many failed logins; try again later');
      case 'busy':
        throw backendError('UNAVAILABLE', 'Server busy; try again later');
      case 'wrong':
        this.deps.log?.info({ username, remoteAddress: client.remoteAddress, delayMs: login.delayMs }, 'IMAP login failed');
        throw backendError('AUTHENTICATIONFAILED', 'Authentication failed');
    }
    return new Account(login.user, { folders: this.deps.folders, mail: this.deps.mail, live: this.live, appendLimit: this.deps.appendLimit });
  }

  stop(): void {
    this.live.stop();
  }
}

export function createImapBackend(deps: ImapBackendDeps): LetterboxImapBackend {
  return new FolderStoreBackend(deps);
}
