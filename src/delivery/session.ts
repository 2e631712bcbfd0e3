// One SMTP session with a remote server, through nodemailer's SMTP client. This file turns the client's
// callbacks and error codes into what delivery needs to know: did we reach a server at all (for the
// "port 25 blocked" guess), what did it answer for each recipient, and is the session still usable.
// The TCP connection is made first, under its own deadline (connection.ts), and handed to nodemailer;
// from then on every stage runs under a deadline of the ConversationClock (deadlines.ts), and the
// attempt's abort signal ends the session at once. Either way the socket is destroyed, not closed
// politely: a server that trickles or floods gets no more of our time.
import type net from 'node:net';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SMTPConnectionEnvelope, SMTPEnvelope, SMTPError } from 'nodemailer/lib/smtp-connection';
import { aborted, clientOptions, connectTo, describeError, openingFailure, peerLabel, SessionFailure, type SessionPeer, type SessionTimers } from './connection.js';
import { ConversationClock, type Expiry } from './deadlines.js';
import { seconds } from './settings.js';

export { peerLabel, SessionFailure, type SessionPeer, type SessionTimers } from './connection.js';

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

export class SmtpSession {
  private lastError: SMTPError | undefined;
  /** Set when a deadline passed or the attempt was aborted: the session is over, for this reason. */
  private ended: SessionFailure | undefined;
  /** Fails the call in flight: nodemailer forgets a callback when the connection is cut. */
  private interrupt: ((failure?: SessionFailure) => void) | undefined;
  private readonly clock: ConversationClock;
  private readonly connection: SMTPConnection;
  private readonly onAbort = () => this.end(aborted(this.signal));

  private constructor(
    readonly peer: SessionPeer,
    private readonly socket: net.Socket,
    timers: SessionTimers,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.clock = new ConversationClock(timers, (expiry) => this.end(this.timedOut(expiry)), peer.tls === 'implicit');
    this.connection = new SMTPConnection(clientOptions(peer, timers, socket, this.clock));
    // nodemailer emits 'error' for every failure; unheard, it would throw. Each call below learns of the
    // failure through its own callback, this keeps the last one for the messages.
    this.connection.on('error', (err: SMTPError) => (this.lastError = err));
    this.connection.on('end', () => this.connectionEnded());
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  static async open(peer: SessionPeer, timers: SessionTimers, signal?: AbortSignal): Promise<SmtpSession> {
    const socket = await connectTo(peer, timers.connectTimeoutMs, signal);
    const session = new SmtpSession(peer, socket, timers, signal);
    const { connection } = session;
    const closedEarly = () => openingFailure(session.lastError ?? Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' }), connection, peer);
    const greeted = session.call<void>((resolve, reject) => {
      const failed = (err: SMTPError) => reject(openingFailure(err, connection, peer));
      connection.once('error', failed);
      connection.connect((err) => {
        connection.removeListener('error', failed);
        if (err) failed(err);
        else resolve();
      });
    }, closedEarly);
    if (signal?.aborted) session.end(aborted(signal));
    await greeted;
    return session;
  }

  /** True once STARTTLS or implicit TLS is in place; credentials are sent only then. */
  get secure(): boolean {
    return this.connection.secure;
  }

  get usable(): boolean {
    return !this.ended && !this.connection.destroyed;
  }

  async login(user: string, password: string): Promise<void> {
    const label = peerLabel(this.peer);
    if (!this.secure) throw new SessionFailure('auth', `${label} offered no TLS; the credentials were not sent`);
    await this.call<void>(
      (resolve, reject) => {
        this.connection.login({ user, pass: password }, (err) => {
          if (!err) return resolve();
          if (err.responseCode) reject(new SessionFailure('auth', `authentication at ${label} failed`, err.response));
          else reject(new SessionFailure('lost', `authentication at ${label} failed: ${describeError(err)}`));
        });
      },
      () => this.lost('during authentication'),
    );
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
    this.clock.messageSize = envelope.size;
    const answer = await this.call<TransactionAnswer>(
      (resolve, reject) => {
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
      },
      () => this.lost('while sending the message'),
    );
    // A failed transaction may leave the server inside it (a MAIL accepted, every RCPT refused):
    // RSET so that the next one starts clean (RFC 5321 4.1.1.5).
    const everyoneAccepted = [...answer.replies.values()].every((reply) => reply.startsWith('2'));
    if (answer.usable && !everyoneAccepted) answer.usable = await this.reset();
    return answer;
  }

  private repliesForFailure(err: SMTPError, envelope: TransactionEnvelope): Map<string, string> {
    const replies = new Map<string, string>();
    const label = peerLabel(this.peer);
    if (this.ended) throw this.ended;
    if (err.code === 'ESTREAM') throw new SessionFailure('local', `the queued message could not be read: ${err.message}`);
    if (!err.responseCode) {
      // nodemailer refused before asking: the size the server announced (RFC 1870) is too small.
      if (err.code === 'EMESSAGE' && err.command === 'MAIL FROM') {
        for (const r of envelope.recipients) replies.set(r, `552 5.3.4 Message is larger than ${label} accepts (${err.message})`);
        return replies;
      }
      throw new SessionFailure('lost', `lost connection with ${label} while sending the message: ${describeError(err)}`);
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

  private async reset(): Promise<boolean> {
    if (!this.usable) return false;
    try {
      return await this.call<boolean>((resolve) => this.connection.reset((err) => resolve(!err)), () => this.lost('after RSET'));
    } catch {
      return false;
    }
  }

  /** QUIT (RFC 5321 4.1.1.10) when the session is still up; the clock bounds the wait for its reply. */
  close(): void {
    if (this.usable) {
      this.connection.quit();
      // Nothing of ours depends on the answer to QUIT: the process need not wait for it.
      this.socket.unref();
    } else this.connection.close();
  }

  /**
   * Runs one nodemailer call. It settles through its callback, or fails at once with the reason the
   * session ended (a deadline, an abort), or with `whenLost` when the connection went away and nodemailer
   * never called back.
   */
  private call<T>(start: (resolve: (value: T) => void, reject: (failure: unknown) => void) => void, whenLost: () => SessionFailure): Promise<T> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<T>((resolve, reject) => {
      this.interrupt = (failure) => {
        this.interrupt = undefined;
        reject(failure ?? whenLost());
      };
      start(
        (value) => {
          this.interrupt = undefined;
          resolve(value);
        },
        (failure) => {
          this.interrupt = undefined;
          reject(failure);
        },
      );
    });
  }

  /** Ends the session now: the socket is destroyed and the call in flight fails with `failure`. */
  private end(failure: SessionFailure): void {
    if (this.ended) return;
    this.ended = failure;
    this.clock.stop();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.connection.close();
    this.socket.destroy();
    this.interrupt?.(failure);
  }

  private connectionEnded(): void {
    this.clock.stop();
    this.signal?.removeEventListener('abort', this.onAbort);
    // A send in flight hears of the end from nodemailer right after this event; a login, a reset or the
    // greeting may never. Whatever still waits on the next turn learns that the connection is gone.
    setImmediate(() => this.interrupt?.(this.ended));
  }

  private timedOut({ doing, allowedMs, handshake }: Expiry): SessionFailure {
    const label = peerLabel(this.peer);
    // Not a byte in all that time: a server that takes connections and says nothing.
    if (doing === 'waiting for the greeting' && this.socket.bytesRead === 0) {
      return new SessionFailure('lost', `${label} accepted the connection but never greeted (${seconds(allowedMs)})`);
    }
    // RFC 3463 X.4.2 (bad connection) is given by the caller; the text says which wait ran out.
    return new SessionFailure(handshake ? 'tls' : 'lost', `${label} timed out after ${seconds(allowedMs)} ${doing}`);
  }

  private lost(when: string): SessionFailure {
    const reason = this.lastError ? `: ${describeError(this.lastError)}` : '';
    return new SessionFailure('lost', `lost connection with ${peerLabel(this.peer)} ${when}${reason}`);
  }
}

function rejectedAddress(err: SMTPError): string {
  return err.recipient ?? '';
}
