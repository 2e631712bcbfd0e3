// Log lines about what clients do (DESIGN.md principles 7 and 8, issue 6): a refused connection, a TLS
// handshake dropped, a reset, a client leaving mid-message, a deadline, a failed login are client
// behaviour, logged at info without a stack and rate-limited per address and kind (core/log-throttle.ts),
// with one line for what was held back. Only our own faults are errors.
import type { Logger } from 'pino';
import { DEFAULT_LOG_THROTTLE, LogThrottle, type LogThrottleSettings } from '../core/log-throttle.js';

export type NoticeKind = 'refused' | 'tls' | 'socket' | 'deadline' | 'gone' | 'auth' | 'recipient' | 'busy';

export class ClientNotices {
  private readonly throttle: LogThrottle;

  constructor(log: Logger, settings: LogThrottleSettings = DEFAULT_LOG_THROTTLE) {
    this.throttle = new LogThrottle(settings, ({ kind, source, suppressed }) =>
      log.info({ svc: 'smtp', kind, suppressed, ...(source === undefined ? {} : { remoteAddress: source }) }, source === undefined ? 'log lines suppressed (all addresses)' : 'log lines suppressed'),
    );
  }

  /** Writes `message` to `log` at info unless this address has had its share of lines of this kind. */
  note(log: Logger, address: string, kind: NoticeKind, fields: object, message: string): void {
    if (this.throttle.admit(address, kind)) log.info({ remoteAddress: address, kind, ...fields }, message);
  }

  /** Reports what was held back so far (at stop). */
  dispose(): void {
    this.throttle.dispose();
  }
}

/** Socket errors that mean the client went away or broke the connection. */
const CLIENT_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ECONNECTION', 'ERR_STREAM_PREMATURE_CLOSE']);

interface SocketError extends Error {
  code?: string;
  library?: string;
  remoteAddress?: string;
  meta?: { stage?: string; remoteAddress?: string };
}

/**
 * What smtp-server's 'error' event carries, sorted: a TLS handshake that failed or was dropped, or a
 * socket broken by the client, is client behaviour (with the client's address); anything else is ours.
 */
export function clientFault(err: SocketError): { kind: 'tls' | 'socket'; address: string } | undefined {
  // A socket reset before anyone asked for its peer's address no longer knows it.
  const address = err.remoteAddress ?? err.meta?.remoteAddress ?? 'unknown';
  const code = err.code ?? '';
  // smtp-server's normalizeTLSError marks every failed upgrade (465 and STARTTLS) with stage 'connect'.
  if (err.meta?.stage === 'connect' || /^ERR_(SSL|TLS)_/.test(code) || code === 'TLSError' || code === 'SocketError' || err.library === 'SSL routines') return { kind: 'tls', address };
  if (CLIENT_SOCKET_ERRORS.has(code)) return { kind: 'socket', address };
  return undefined;
}
