// One SMTP session with a remote server, through nodemailer's SMTP client. This file turns the client's
// callbacks and error codes into what delivery needs to know: did we reach a server at all (for the
// "port 25 blocked" guess), what did it answer for each recipient, and is the session still usable.
import net from 'node:net';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SMTPConnectionEnvelope, SMTPEnvelope, SMTPError } from 'nodemailer/lib/smtp-connection';
import { capRemoteText, oneLine } from './outcomes.js';

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

export interface SessionTimers {
  /** EHLO name (RFC 5321 4.1.1.1). */
  hostname: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/**
 * Why a session could not be opened or carried on. `connect` means no SMTP server was reached at all
 * (refused, unreachable, timed out, silent): only these count towards "port 25 seems blocked".
 */
export class SessionFailure extends Error {
  constructor(
    readonly stage: 'connect' | 'tls' | 'smtp' | 'auth' | 'lost' | 'local',
    message: string,
    /** The server's reply, when the failure was an answer. */
    reply?: string,
  ) {
    // Both may quote the far side: kept as short as a recipient's reply (outcomes.ts).
    super(capRemoteText(message));
    this.name = 'SessionFailure';
    if (reply !== undefined) this.reply = oneLine(reply);
  }

  readonly reply?: string;
}

export interface TransactionEnvelope {
  /** '' is the null reverse-path (RFC 5321 4.5.5). */
  sender: string;
  recipients: string[];
  size: number;
  /** RFC 3461 parameters; nodemailer sends them only when the server announces DSN. */
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: string[]; orcpt?: string };
}

/** The final reply for every recipient of one transaction; `usable` is false once the server hung up. */
export interface TransactionAnswer {
  replies: Map<string, string>;
  usable: boolean;
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

function describe(err: SMTPError): string {
  const key = err.timeoutType ?? err.originalCode ?? '';
  // OpenSSL's messages carry a hex prefix and a source path; Node keeps the readable part in `reason`.
  const reason = (err as SMTPError & { reason?: string }).reason;
  return DESCRIPTIONS[key] ?? reason ?? err.message.replace(/^Error: /, '').trim();
}

export function peerLabel(peer: SessionPeer): string {
  const address = net.isIPv6(peer.address) ? `[${peer.address}]` : peer.address;
  return `${peer.name}[${address}]:${peer.port}`;
}

function openingFailure(err: SMTPError, connection: SMTPConnection, peer: SessionPeer): SessionFailure {
  const label = peerLabel(peer);
  // A failed handshake shows up as ETLS or as a socket error while the upgrade is under way.
  if (err.code === 'ETLS' || connection.upgrading) return new SessionFailure('tls', `TLS with ${label} failed: ${describe(err)}`, err.response);
  if (err.responseCode) return new SessionFailure('smtp', `${label} refused the session`, err.response);
  // The server had spoken before the connection broke, or took the connection and never greeted: it
  // exists, so this is no connect failure and no sign that outbound port 25 is blocked.
  // (A connection not made in time is CONNECT_TIMEOUT; the other timeouts run on a connected socket.)
  if (!connection.lastServerResponse && (err.timeoutType === 'GREETING_TIMEOUT' || err.timeoutType === 'SOCKET_TIMEOUT')) {
    return new SessionFailure('lost', `${label} accepted the connection but never greeted`);
  }
  if (connection.lastServerResponse) return new SessionFailure('lost', `lost connection with ${label} while setting up the session: ${describe(err)}`);
  return new SessionFailure('connect', `connect to ${label}: ${describe(err)}`);
}

export class SmtpSession {
  private lastError: SMTPError | undefined;

  private constructor(
    private readonly connection: SMTPConnection,
    readonly peer: SessionPeer,
  ) {
    // nodemailer emits 'error' for every failure; unheard, it would throw. Each call below learns of the
    // failure through its own callback, this keeps the last one for the messages.
    connection.on('error', (err: SMTPError) => (this.lastError = err));
  }

  static async open(peer: SessionPeer, timers: SessionTimers): Promise<SmtpSession> {
    const verified = peer.tls === 'starttls' || peer.tls === 'implicit';
    const servername = net.isIP(peer.name) === 0 ? peer.name : undefined;
    const connection = new SMTPConnection({
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
      connectionTimeout: timers.connectTimeoutMs,
      greetingTimeout: timers.commandTimeoutMs,
      socketTimeout: timers.commandTimeoutMs,
      logger: false,
    });
    const session = new SmtpSession(connection, peer);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: SMTPError) => {
        if (settled) return;
        settled = true;
        connection.removeListener('error', settle);
        connection.removeListener('end', closedEarly);
        if (err) reject(openingFailure(err, connection, peer));
        else resolve();
      };
      const closedEarly = () => settle(session.lastError ?? Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' }));
      connection.once('error', settle);
      connection.once('end', closedEarly);
      connection.connect((err) => settle(err));
    });
    return session;
  }

  /** True once STARTTLS or implicit TLS is in place; credentials are sent only then. */
  get secure(): boolean {
    return this.connection.secure;
  }

  get usable(): boolean {
    return !this.connection.destroyed;
  }

  async login(user: string, password: string): Promise<void> {
    if (!this.secure) throw new SessionFailure('auth', `${peerLabel(this.peer)} offered no TLS; the credentials were not sent`);
    await new Promise<void>((resolve, reject) => {
      this.connection.login({ user, pass: password }, (err) => {
        if (!err) return resolve();
        const label = peerLabel(this.peer);
        if (err.responseCode) reject(new SessionFailure('auth', `authentication at ${label} failed`, err.response));
        else reject(new SessionFailure('lost', `authentication at ${label} failed: ${describe(err)}`));
      });
    });
  }

  /**
   * One mail transaction (RFC 5321 3.3). Resolves with a reply per recipient whenever the server
   * answered; rejects with a SessionFailure when the connection broke before it did.
   */
  async transact(envelope: TransactionEnvelope, body: Readable): Promise<TransactionAnswer> {
    const smtpEnvelope: SMTPEnvelope = {
      from: envelope.sender,
      to: envelope.recipients,
      size: envelope.size,
      // RFC 6152: declaring 8BITMIME is right for 7-bit content too; nodemailer adds it only when offered.
      use8BitMime: true,
      ...(envelope.dsn ? { dsn: envelope.dsn } : {}),
    };
    const answer = await new Promise<TransactionAnswer>((resolve, reject) => {
      this.connection.send(smtpEnvelope, body, (err, info) => {
        if (!err) {
          const replies = new Map<string, string>();
          for (const address of info.accepted) replies.set(address, info.response);
          for (const rejected of info.rejectedErrors ?? []) replies.set(rejectedAddress(rejected), rejected.response ?? '');
          return resolve({ replies, usable: this.usable });
        }
        try {
          resolve({ replies: this.repliesForFailure(err, envelope), usable: this.usable });
        } catch (failure) {
          reject(failure);
        }
      });
    });
    // A failed transaction may leave the server inside it (a MAIL accepted, every RCPT refused):
    // RSET so that the next one starts clean (RFC 5321 4.1.1.5).
    const everyoneAccepted = [...answer.replies.values()].every((reply) => reply.startsWith('2'));
    if (answer.usable && !everyoneAccepted) answer.usable = await this.reset();
    return answer;
  }

  private repliesForFailure(err: SMTPError, envelope: TransactionEnvelope): Map<string, string> {
    const replies = new Map<string, string>();
    const label = peerLabel(this.peer);
    if (err.code === 'ESTREAM') throw new SessionFailure('local', `the queued message could not be read: ${err.message}`);
    if (!err.responseCode) {
      // nodemailer refused before asking: the size the server announced (RFC 1870) is too small.
      if (err.code === 'EMESSAGE' && err.command === 'MAIL FROM') {
        for (const r of envelope.recipients) replies.set(r, `552 5.3.4 Message is larger than ${label} accepts (${err.message})`);
        return replies;
      }
      throw new SessionFailure('lost', `lost connection with ${label} while sending the message: ${describe(err)}`);
    }
    const reply = err.response ?? '';
    if (err.command === 'MAIL FROM' || err.command === 'CONN') {
      for (const r of envelope.recipients) replies.set(r, reply);
      return replies;
    }
    // Refused recipients keep their RCPT reply; the DATA reply (or the reason the envelope failed) is the
    // answer for all the others (RFC 5321 3.3).
    const rejected = err.rejectedErrors ?? this.rejectedInLastTransaction();
    for (const r of envelope.recipients) replies.set(r, reply);
    for (const refusal of rejected) replies.set(rejectedAddress(refusal), refusal.response ?? reply);
    return replies;
  }

  /**
   * The RCPT refusals of the transaction that just failed at DATA. nodemailer's error for a failed DATA does
   * not carry them; the connection keeps them in its envelope bookkeeping (SMTPConnectionEnvelope in its
   * type declarations) until the next transaction.
   */
  private rejectedInLastTransaction(): SMTPError[] {
    const bookkeeping = (this.connection as unknown as { _envelope?: Partial<SMTPConnectionEnvelope> | false })._envelope;
    return (bookkeeping && bookkeeping.rejectedErrors) || [];
  }

  private reset(): Promise<boolean> {
    if (!this.usable) return Promise.resolve(false);
    return new Promise((resolve) => this.connection.reset((err) => resolve(!err)));
  }

  /** QUIT (RFC 5321 4.1.1.10) when the session is still up. */
  close(): void {
    if (this.usable) this.connection.quit();
    else this.connection.close();
  }
}

function rejectedAddress(err: SMTPError): string {
  return err.recipient ?? '';
}
