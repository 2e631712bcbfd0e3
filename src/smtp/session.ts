// What Letterbox remembers about one SMTP session beyond what smtp-server keeps.
import type { Logger } from 'pino';
import type { Resolution } from '../core/types.js';
import type { ConnectionHandle } from './connection-hooks.js';
import type { SessionClock } from './deadlines.js';
import type { NoticeKind } from './notices.js';

export type Listener = 'mx' | 'submission' | 'smtps';

export interface SessionState {
  log: Logger;
  listener: Listener;
  /** Logs client behaviour at info, rate-limited per client address and kind (notices.ts). */
  note(kind: NoticeKind, fields: object, message: string): void;
  /** Canonical address of the logged-in user. */
  user?: string;
  /** Where each accepted recipient goes, by the address as given in RCPT TO. */
  routes: Map<string, Resolution>;
  /** The quota (bytes) of each local mailbox with one that RCPT TO reached, for the end of DATA (quota.ts). */
  quotas: Map<string, number>;
  /** RCPT TO refused as unknown on this connection (directory harvesting). */
  unknownRecipients: number;
  /** AUTH commands refused on this connection (wrong password, or refused by the login guard). */
  authFailures: number;
  /** The connection's deadlines (deadlines.ts). */
  clock?: SessionClock;
  /** The connection itself, to close it from outside a reply (after too many failed logins). */
  connection?: ConnectionHandle;
}

const states = new WeakMap<object, SessionState>();

export function sessionState(session: object): SessionState {
  const state = states.get(session);
  if (!state) throw new Error('SMTP session without state');
  return state;
}

export function attachState(session: object, state: SessionState): void {
  states.set(session, state);
}
