// One IMAP connection: greeting, the parse loop, commands run one at a time in the order sent (pipelined
// commands are answered in order), the limits, and the end (LOGOUT, BYE, the client going away).
//
// How it works. Bytes from the Transport go to the CommandParser; its events (commands, literal
// announcements, errors) wait in a queue that pump() works through, one at a time. A command runs in
// dispatch.ts; its tagged answer is written after the handler returns and after the updates the client
// may be told then (selected.ts flush), so untagged updates always come before the tagged line. Reading
// pauses while many events wait or much output is queued for a slow reader.
import type { SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ImapBackend } from './backend.js';
import type { ImapLimits } from './command.js';
import { CommandParser } from './wire/command-parser.js';
import type { EncodedCache } from './fetch/encoded-cache.js';
import { ResponseEncoder } from './wire/encoder.js';
import type { ParseEvent, WireError } from './wire/values.js';
import { capabilityList, texts } from './responses.js';
import { ImapSession } from './session.js';
import { Transport } from './transport.js';
import { runCommand, answerContinue, type AnyCommand } from './dispatch.js';

export interface ImapSettings {
  maxMessageSize: number;
  maxLineLength: number;
  maxBadCommands: number;
  loginFailuresPerConnection: number;
  idleTimeoutSeconds: number;
  maxSessionsPerUser: number;
  maxConnectionsPerAddress: number;
}

/** What the server gives each connection. */
export interface ConnectionDeps {
  backend: ImapBackend;
  settings: ImapSettings;
  commands: ReadonlyMap<string, AnyCommand>;
  tls: SecureContext;
  log: Logger;
  /** Loopback, where LOGIN is allowed before TLS. */
  isLocal(address: string): boolean;
  /** Per-user session slots (imap.maxSessionsPerUser). */
  sessions: { admit(user: string): boolean; release(user: string): void };
  /** The server's encoded ENVELOPEs (fetch/encoded-cache.ts); none: each is encoded every time. */
  encoded?: EncodedCache;
}

/** Parse events waiting beyond this pause reading. */
const MAX_QUEUED = 64;

export class ImapConnection {
  readonly session: ImapSession;
  readonly transport: Transport;
  readonly parser: CommandParser;
  readonly done: Promise<void>;
  /** After the current command's answer: start TLS, compression, or close. */
  afterAnswer: 'starttls' | 'compress' | 'close' | null = null;
  /** A command is running. */
  busy = false;
  wake: (() => void) | null = null;
  admittedUser: string | null = null;
  private readonly plain = new ResponseEncoder();
  private readonly utf8 = new ResponseEncoder({ utf8: true });
  private readonly queue: ParseEvent[] = [];
  private running = false;
  private readingPaused = false;
  private lineWaiter: ((line: Buffer | null) => void) | null = null;
  private badCommands = 0;
  private loginFailures = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private resolveDone: () => void = () => {};

  constructor(
    socket: Socket,
    private readonly implicitTls: boolean,
    readonly deps: ConnectionDeps,
    readonly log: Logger,
  ) {
    const address = socket.remoteAddress ?? '';
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const { maxLineLength, maxMessageSize } = deps.settings;
    // A refused LITERAL+ message (RFC 7888 3) a little over the limit is read and thrown away, so the
    // client gets its NO [TOOBIG] and the session goes on; one far over it ends the connection.
    this.parser = new CommandParser({ maxLineLength, maxLiteralSize: maxMessageSize, maxSkipSize: 2 * maxMessageSize });
    this.transport = new Transport(socket, false, {
      data: (chunk) => this.onData(chunk),
      close: () => this.onClose(),
      error: (err) => this.log.debug({ err: err.message }, 'connection error'),
    });
    const limits: ImapLimits = { maxMessageSize: deps.settings.maxMessageSize };
    this.session = new ImapSession({ remoteAddress: address, secure: implicitTls }, limits, () => this.capabilities(), {
      gone: () => this.bye(texts.folderGone),
      changed: () => this.wake?.(),
    });
  }

  get encoder(): ResponseEncoder {
    return this.encoderFor(this.session.enabled.has('UTF8=ACCEPT'));
  }

  encoderFor(utf8: boolean): ResponseEncoder {
    return utf8 ? this.utf8 : this.plain;
  }

  get local(): boolean {
    return this.deps.isLocal(this.session.client.remoteAddress);
  }

  get loginAllowed(): boolean {
    return this.transport.secure || this.local;
  }

  /** TLS first on 993; then the greeting (RFC 3501 7.1.1; never PREAUTH). */
  async start(refusal?: string): Promise<void> {
    this.touch();
    if (this.implicitTls) {
      try {
        await this.transport.startTls(this.deps.tls);
      } catch (err) {
        this.log.debug({ reason: (err as Error).message }, 'TLS handshake failed');
        this.transport.destroy();
        return;
      }
      this.markSecure();
    }
    if (refusal) return this.bye(refusal);
    this.write(this.encoder.status('*', 'OK', texts.greeting, `CAPABILITY ${this.capabilities().join(' ')}`));
  }

  capabilities(): string[] {
    const account = this.session.account;
    const accountLimit = account?.appendLimit ?? 0;
    const max = this.deps.settings.maxMessageSize;
    return capabilityList({
      secure: this.transport.secure,
      startTlsPort: !this.implicitTls,
      local: this.local,
      authenticated: this.session.state !== 'not-authenticated',
      compressed: this.transport.compressed,
      appendLimit: accountLimit > 0 ? Math.min(accountLimit, max) : max,
    });
  }

  write(bytes: Buffer): void {
    if (this.log.isLevelEnabled('trace')) this.log.trace({ out: bytes.subarray(0, 200).toString('latin1') }, 'S:');
    this.transport.write(bytes);
  }

  /** `* BYE text`, then the connection ends (at once, or after the command running now). */
  bye(text: string): void {
    if (this.transport.ended) return;
    this.write(this.encoder.status('*', 'BYE', text));
    this.afterAnswer = 'close';
    if (!this.busy || this.lineWaiter) this.transport.end();
  }

  /** Server shutdown. */
  shutdown(): void {
    this.bye(texts.shuttingDown);
  }

  /** A tagged or untagged BAD was sent: too many end the connection. */
  countBad(): void {
    this.badCommands += 1;
    if (this.badCommands >= this.deps.settings.maxBadCommands) {
      this.log.info({ badCommands: this.badCommands }, 'too many invalid commands; closing');
      this.bye(texts.tooManyBad);
    }
  }

  /**
   * A failed login: the shared login guard slows guessing per address; this ends a connection that keeps
   * trying (as SMTP's authFailuresPerConnection and Postfix's smtpd_hard_error_limit do).
   */
  countLoginFailure(): void {
    this.loginFailures += 1;
    if (this.loginFailures >= this.deps.settings.loginFailuresPerConnection) {
      this.log.info({ loginFailures: this.loginFailures }, 'too many failed logins on one connection; closing it');
      this.bye(texts.tooManyLoginFailures);
    }
  }

  /** The next raw line (AUTHENTICATE, IDLE's DONE), or null when it cannot come. */
  readLine(): Promise<Buffer | null> {
    if (this.transport.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.lineWaiter = resolve;
      this.accept(this.parser.readLine());
    });
  }

  /** After STARTTLS's OK: RFC 3501 6.2.1, what came before the handshake is thrown away. */
  async upgrade(): Promise<void> {
    this.parser.takeHeld();
    try {
      await this.transport.startTls(this.deps.tls);
    } catch (err) {
      this.log.debug({ reason: (err as Error).message }, 'STARTTLS handshake failed');
      this.transport.destroy();
      return;
    }
    this.markSecure();
    this.log.debug('STARTTLS done');
  }

  /** Reads on after a pausing command (and after TLS or COMPRESS started). */
  resumeParser(): void {
    if (this.parser.paused) this.accept(this.parser.resume());
  }

  private markSecure(): void {
    (this.session.client as { secure: boolean }).secure = true;
  }

  private onData(chunk: Buffer): void {
    this.touch();
    this.accept(this.parser.push(chunk));
  }

  private accept(events: ParseEvent[]): void {
    for (const event of events) {
      if (event.kind === 'line') this.takeLine(event.bytes);
      else if (event.kind === 'error' && this.lineWaiter) {
        this.takeLine(null);
        if (event.error.fatal) this.queue.push(event);
      } else this.queue.push(event);
    }
    if (this.queue.length > MAX_QUEUED && !this.readingPaused) {
      this.readingPaused = true;
      this.transport.pause();
    }
    void this.pump();
  }

  private takeLine(line: Buffer | null): void {
    const waiter = this.lineWaiter;
    this.lineWaiter = null;
    waiter?.(line);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.transport.ended) {
        const event = this.queue.shift() as ParseEvent;
        await this.handle(event);
        if (this.transport.backlog > 0) await this.transport.drained();
      }
    } catch (err) {
      this.log.error({ err }, 'IMAP connection failed');
      this.transport.destroy();
    } finally {
      this.running = false;
    }
    if (this.readingPaused && this.queue.length < MAX_QUEUED / 2) {
      this.readingPaused = false;
      this.transport.resume();
    }
  }

  private async handle(event: ParseEvent): Promise<void> {
    if (event.kind === 'command') await runCommand(this, event.command);
    else if (event.kind === 'continue') answerContinue(this, event.tag, event.command, event.size);
    else if (event.kind === 'error') this.wireError(event.error);
  }

  /** What the parser refused: RFC 7889 TOOBIG for a literal over the limit, BAD for the rest. */
  private wireError(error: WireError): void {
    const tag = error.tag ?? '*';
    if (error.fatal) {
      this.log.info({ code: error.code }, 'unreadable input; closing');
      this.bye(error.message);
      return;
    }
    if (error.code === 'literal-too-large') {
      this.write(this.encoder.status(tag, 'NO', error.message, 'TOOBIG'));
    } else if (error.code === 'command-too-large') {
      this.write(this.encoder.status(tag, 'NO', error.message, 'LIMIT'));
    } else {
      this.write(this.encoder.status(tag, 'BAD', error.message));
      this.countBad();
    }
  }

  /** RFC 3501 5.4: the autologout timer runs from the client's last bytes, IDLE included. */
  private touch(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        this.log.info('idle for too long; logging out');
        this.bye(texts.autologout);
        this.transport.end();
      }, this.deps.settings.idleTimeoutSeconds * 1000);
      this.idleTimer.unref();
    }
  }

  private onClose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.takeLine(null);
    this.queue.length = 0;
    try {
      this.session.end();
    } catch (err) {
      this.log.error({ err }, 'closing the session failed');
    }
    if (this.admittedUser) this.deps.sessions.release(this.admittedUser);
    this.admittedUser = null;
    this.log.debug('disconnected');
    this.resolveDone();
  }
}
