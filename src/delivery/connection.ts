// Opening the connection of an outbound SMTP session: the TCP connection under its own deadline (made
// here, so that it is ours to destroy), nodemailer's options for the session on top of it, and what a
// failure at that point means for the "port 25 blocked" guess.
import net from 'node:net';
import { rootCertificates } from 'node:tls';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import type { ConversationClock, StageDeadlines } from './deadlines.js';
import { abortedText, capRemoteText, joinReply } from './outcomes.js';
import { seconds } from './settings.js';

export interface SessionPeer {
  /** The address to connect to. */
  address: string;
  port: number;
  /** The server's host name: SNI, certificate name of the smarthost, Remote-MTA in DSNs. */
  name: string;
  /**
   * `opportunistic`: STARTTLS when offered, any certificate (RFC 7435), clear text when the server offers
   * none or refuses STARTTLS; `none`: no STARTTLS (the retry after a failed handshake); `starttls`: STARTTLS
   * required, certificate verified; `implicit`: TLS from the first byte (RFC 8314 3.3), verified.
   */
  tls: 'opportunistic' | 'none' | 'starttls' | 'implicit';
  /** Extra trusted CA certificates (PEM) for a verified connection. */
  ca?: string | readonly string[];
}

export interface SessionTimers extends StageDeadlines {
  /** EHLO name (RFC 5321 4.1.1.1). */
  hostname: string;
  /** The TCP connection must be up within this. */
  connectTimeoutMs: number;
  /** No byte either way for this long ends the session (nodemailer's socket timeout). */
  idleTimeoutMs: number;
}

/**
 * Why a session could not be opened or carried on. `connect` means no SMTP server was reached at all
 * (refused, unreachable, timed out): only these count towards "port 25 seems blocked". `aborted`: the
 * attempt was called off; nothing is to be concluded about the server.
 */
export class SessionFailure extends Error {
  constructor(
    readonly stage: 'connect' | 'tls' | 'smtp' | 'auth' | 'lost' | 'local' | 'aborted',
    message: string,
    /** The server's reply, when the failure was an answer. */
    reply?: string,
  ) {
    // Both may quote the far side: kept as short as a recipient's reply (outcomes.ts).
    super(capRemoteText(message));
    this.name = 'SessionFailure';
    if (reply !== undefined) this.reply = joinReply(reply);
  }

  readonly reply?: string;
}

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  CONNECT_TIMEOUT: 'Connection timed out',
  GREETING_TIMEOUT: 'Timed out waiting for the greeting',
  UPGRADE_TIMEOUT: 'TLS handshake timed out',
  SOCKET_TIMEOUT: 'Timed out waiting for a reply',
};

export function describeError(err: SMTPError | NodeJS.ErrnoException): string {
  const smtp = err as SMTPError;
  const key = smtp.timeoutType ?? smtp.originalCode ?? err.code ?? '';
  // OpenSSL's messages carry a hex prefix and a source path; Node keeps the readable part in `reason`.
  const reason = (err as { reason?: string }).reason;
  // nodemailer appends the server's reply to its message. The reply is kept apart, on one line; quoted
  // here as well it would bring its continuation lines (`550-`) into the DSN.
  const suffix = smtp.response ? `: ${smtp.response}` : '';
  const message = suffix && err.message.endsWith(suffix) ? err.message.slice(0, -suffix.length) : err.message;
  return DESCRIPTIONS[key] ?? reason ?? message.replace(/^Error: /, '').trim();
}

export function peerLabel(peer: SessionPeer): string {
  const address = net.isIPv6(peer.address) ? `[${peer.address}]` : peer.address;
  return `${peer.name}[${address}]:${peer.port}`;
}

export function openingFailure(err: SMTPError, connection: SMTPConnection, peer: SessionPeer): SessionFailure {
  const label = peerLabel(peer);
  // A failed handshake shows up as ETLS or as a socket error while the upgrade is under way.
  if (err.code === 'ETLS' || connection.upgrading) return new SessionFailure('tls', `TLS with ${label} failed: ${describeError(err)}`, err.response);
  if (err.responseCode) return new SessionFailure('smtp', `${label} refused the session`, err.response);
  // The connection is made before nodemailer has it: whatever fails now, a server took the connection,
  // so this is no sign that outbound port 25 is blocked.
  if (!connection.lastServerResponse && (err.timeoutType === 'GREETING_TIMEOUT' || err.timeoutType === 'SOCKET_TIMEOUT')) {
    return new SessionFailure('lost', `${label} accepted the connection but never greeted`);
  }
  return new SessionFailure('lost', `lost connection with ${label} while setting up the session: ${describeError(err)}`);
}

export function aborted(signal: AbortSignal | undefined): SessionFailure {
  return new SessionFailure('aborted', abortedText(signal));
}

/** The TCP connection, or a `connect` failure: refused, unreachable, not made within `timeoutMs`. */
export function connectTo(peer: SessionPeer, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  const label = peerLabel(peer);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal));
    const socket = net.connect({ host: peer.address, port: peer.port });
    const settle = (failure?: SessionFailure) => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (!failure) return resolve(socket);
      socket.destroy();
      reject(failure);
    };
    const onError = (err: NodeJS.ErrnoException) => settle(new SessionFailure('connect', `connect to ${label}: ${describeError(err)}`));
    const onAbort = () => settle(aborted(signal));
    const timer = setTimeout(() => settle(new SessionFailure('connect', `connect to ${label}: Connection timed out after ${seconds(timeoutMs)}`)), timeoutMs);
    socket.once('connect', () => settle());
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The longest reply read from a remote server (see clientOptions). */
export const MAX_REPLY_BYTES = 64 * 1024;

export function clientOptions(peer: SessionPeer, timers: SessionTimers, socket: net.Socket, clock: ConversationClock): SMTPConnection.Options {
  const verified = peer.tls === 'starttls' || peer.tls === 'implicit';
  const servername = net.isIP(peer.name) === 0 ? peer.name : undefined;
  // nodemailer's own setup timers are a backstop behind the clock's: greeting, EHLO, STARTTLS, handshake.
  const setupBackstopMs = timers.greetingTimeoutMs + 3 * timers.replyTimeoutMs + 1000;
  return {
    connection: socket,
    host: peer.address,
    port: peer.port,
    // Always explicit: nodemailer would otherwise switch to implicit TLS on its own for port 465.
    secure: peer.tls === 'implicit',
    requireTLS: peer.tls === 'starttls',
    ignoreTLS: peer.tls === 'none',
    opportunisticTLS: peer.tls === 'opportunistic',
    name: timers.hostname,
    ...(servername ? { servername } : {}),
    // RFC 7435: for MX delivery an unverifiable certificate still beats clear text.
    // Node replaces its bundled roots with `ca` when one is given; the extra CAs come on top of them.
    tls: { rejectUnauthorized: verified, ...(peer.ca ? { ca: [...rootCertificates, ...[peer.ca].flat()] } : {}) },
    connectionTimeout: setupBackstopMs,
    greetingTimeout: setupBackstopMs,
    socketTimeout: timers.idleTimeoutMs,
    // Closing destroys the socket at once. By default nodemailer half-closes and reads on for 5 s
    // waiting for the server to hang up: after a reply over the cap, a flooding server had
    // 5 s more of our bandwidth and CPU (issue 15: 76 MB).
    socketCloseTimeout: 0,
    // RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; no honest reply comes near 64 KiB. A longer
    // one ends the session (a temporary failure) instead of being read: nodemailer's own cap is 1 MiB,
    // and it keeps each refused recipient's whole reply until the transaction ends (100 MB for 100).
    maxResponseSize: MAX_REPLY_BYTES,
    logger: clock.transcript,
    transactionLog: true,
  };
}

