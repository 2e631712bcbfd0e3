// The SMTP service: one smtp-server instance per (listener, address). Port 25 (MX) has no AUTH;
// 587 requires STARTTLS before AUTH (smtp-server refuses AUTH on a clear connection); 465 is TLS
// from the first byte. Limits per client address and on failed logins apply to all of them; failed
// logins are counted by the process's one LoginGuard (core/login-guard.ts), shared with the services
// to come. What clients do is logged through ClientNotices (notices.ts), rate-limited per address.
import { SMTPServer, type SMTPServerAddress, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { Authenticator, Directory, MailIntake, MailStore } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import type { LoginGuard } from '../core/login-guard.js';
import { guardedLogin } from '../core/guarded-login.js';
import { connectionOf, observe } from './connection-hooks.js';
import { SessionClock } from './deadlines.js';
import { ConnectionGate } from './gate.js';
import { ClientNotices, clientFault, type NoticeKind } from './notices.js';
import { checkSender, routeRecipient } from './policy.js';
import { receiveMessage } from './receive.js';
import { roomForMessage } from './storage.js';
import { withoutFullMailboxes } from './quota.js';
import { answer } from './boundary.js';
import { replies, SmtpReply } from './replies.js';
import { attachState, sessionState, type Listener, type SessionState } from './session.js';

export interface SmtpSettings {
  hostname: string;
  maxMessageSize: number;
  maxRecipients: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  socketTimeoutSeconds: number;
  authFailureDelayMs: number;
  authFailureMaxDelayMs: number;
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  authFailuresPerConnection: number;
  tlsHandshakeSeconds: number;
  commandTimeoutSeconds: number;
  minDataRate: number;
  sessionTimeoutSeconds: number;
  junkCommandLimit: number;
  unknownRecipientsBeforeDelay: number;
  unknownRecipientLimit: number;
}

export interface SmtpDeps {
  directory: Directory;
  authenticator: Authenticator;
  /** Counts failed logins per address and per account, before each password check. */
  loginGuard: LoginGuard;
  store: MailStore;
  /** Routes recipients and commits new mail (core's MailIntake). */
  intake: MailIntake;
  bus: EventBus;
  log: Logger;
  tls: { key: Buffer | string; cert: Buffer | string };
  /** Collects short-lived garbage during large transfers, when the runtime allows it. */
  reclaimMemory?: () => void;
}

export interface SmtpEndpoint {
  listener: Listener;
  host: string;
  port: number;
}

interface Running {
  endpoint: SmtpEndpoint;
  server: SMTPServer;
}

const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Postfix's smtpd_error_sleep_time. */
const UNKNOWN_RECIPIENT_DELAY_MS = 1_000;

const SERVICE_NAMES: Record<Listener, string> = { mx: 'smtp', submission: 'submission', smtps: 'smtps' };

export class SmtpService {
  private readonly running: Running[] = [];
  /** Messages being received: stop() waits for them, so none is cut off from the store mid-write. */
  private readonly receiving = new Set<Promise<unknown>>();
  private readonly gate: ConnectionGate;
  private readonly notices: ClientNotices;
  private stopping = false;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly deps: SmtpDeps,
  ) {
    this.notices = new ClientNotices(deps.log);
    const log = deps.log.child({ svc: 'smtp' });
    // A handshake that never came is a deadline; a connection over the address's share, a refusal.
    this.gate = new ConnectionGate(settings, (address, reason) => this.notices.note(log, address, reason === 'no TLS handshake' ? 'deadline' : 'refused', {}, `connection refused: ${reason}`));
  }

  /** Starts every endpoint; resolves with the ports actually bound. */
  async listen(endpoints: SmtpEndpoint[]): Promise<SmtpEndpoint[]> {
    const bound: SmtpEndpoint[] = [];
    for (const endpoint of endpoints) {
      const holder: { server?: SMTPServer } = {};
      const server = new SMTPServer(this.options(endpoint, holder));
      holder.server = server;
      this.gate.guard(server.server, endpoint.listener === 'smtps');
      const serviceLog = this.deps.log.child({ svc: SERVICE_NAMES[endpoint.listener] });
      server.on('error', (err) => this.onServerError(serviceLog, err));
      const port = await new Promise<number>((resolve, reject) => {
        server.server.once('error', reject);
        server.server.listen({ port: endpoint.port, host: endpoint.host, ipv6Only: endpoint.host.includes(':') }, () => {
          server.server.off('error', reject);
          const address = server.server.address();
          resolve(typeof address === 'object' && address ? address.port : endpoint.port);
        });
      });
      const actual = { ...endpoint, port };
      this.running.push({ endpoint: actual, server });
      bound.push(actual);
      this.deps.bus.emit('service.listening', { service: SERVICE_NAMES[endpoint.listener], address: endpoint.host, port });
      this.deps.log.info({ svc: SERVICE_NAMES[endpoint.listener], address: endpoint.host, port }, 'listening');
    }
    return bound;
  }

  /**
   * Stops accepting, says 421 to idle clients at once, lets transactions in flight finish for up to
   * `graceMs`, then closes whatever is left.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.running.map(({ server, endpoint }) => {
        // close() reads the grace period when it is called, so it must be set before.
        (server.options as SMTPServerOptions).closeTimeout = graceMs;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        this.closeIdle(server);
        return closed.then(() => this.deps.bus.emit('service.stopped', { service: SERVICE_NAMES[endpoint.listener] }));
      }),
    );
    this.running.length = 0;
    await Promise.allSettled([...this.receiving]);
    this.notices.dispose();
  }

  /**
   * smtp-server reports here what goes wrong outside a command: mostly clients that break off a TLS
   * handshake or reset the connection, which is their business (info, rate-limited); the rest is ours.
   */
  private onServerError(log: Logger, err: Error & { code?: string }): void {
    const client = clientFault(err);
    if (!client) return void log.error({ err }, 'SMTP server error');
    const what = client.kind === 'tls' ? 'TLS handshake failed' : 'connection broken by the client';
    this.notices.note(log, client.address, client.kind, { code: err.code, reason: err.message }, what);
  }

  private closeIdle(server: SMTPServer): void {
    const connections = (server as unknown as { connections: Set<IdleCandidate> }).connections;
    for (const connection of connections) {
      if (!connection.session?.envelope?.mailFrom && !connection._handlerPending) {
        connection.send(421, replies.shuttingDown().message);
        connection.close();
      }
    }
  }

  private options(endpoint: SmtpEndpoint, holder: { server?: SMTPServer }): SMTPServerOptions {
    const { settings, deps } = this;
    const secure = endpoint.listener === 'smtps';
    return {
      name: settings.hostname,
      // smtp-server greets with `<name> ESMTP <banner>`.
      banner: 'Letterbox',
      secure,
      key: deps.tls.key,
      cert: deps.tls.cert,
      // TLS 1.2 and 1.3 only, and in 1.2 only forward-secret AEAD suites (RFC 9325 4.2), not the CBC-SHA1
      // and CCM8 suites OpenSSL's default list still has. TLS 1.3's suites are all AEAD.
      minVersion: 'TLSv1.2',
      ciphers: TLS12_CIPHERS,
      size: settings.maxMessageSize,
      rejectOversized: true,
      maxRecipients: settings.maxRecipients,
      maxClients: settings.maxConnections,
      socketTimeout: settings.socketTimeoutSeconds * 1000,
      closeTimeout: 10_000,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: true,
      allowInsecureAuth: false,
      disabledCommands: endpoint.listener === 'mx' ? ['AUTH'] : [],
      hideDSN: false,
      hideENHANCEDSTATUSCODES: false,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, callback) => this.onConnect(endpoint, holder.server, session, callback),
      // RFC 4954 4: no AUTH on 587 until the connection is encrypted, so it is not even advertised.
      onSecure: (_socket, session, callback) => {
        if (endpoint.listener === 'submission') session.disabledCommands = [];
        callback();
      },
      onClose: (session) => this.onClose(session),
      onAuth: (auth, session, callback) => {
        const state = sessionState(session);
        const settle = (err: Error | null | undefined, value?: { user: string }) => {
          callback(err, value);
          // The refusal has been written; past the limit, the connection goes too (Postfix's smtpd_hard_error_limit).
          if (err && state.authFailures >= settings.authFailuresPerConnection && state.connection) {
            state.note('auth', { authFailures: state.authFailures }, 'too many failed logins on one connection; closing it');
            state.connection.send(421, replies.tooManyAuthFailures().message);
          }
        };
        answer(async () => ({ user: await this.onAuth(auth.username ?? '', auth.password ?? '', session) }), settle, state, 'AUTH', replies.authUnavailable);
      },
      onMailFrom: (address, session, callback) => {
        const state = sessionState(session);
        answer(async () => {
          const declared = declaredSize(session, address);
          if (!(await roomForMessage(deps.store, settings.maxMessageSize, declared))) {
            state.log.warn({ declared }, 'refused a message: the disk is nearly full');
            throw replies.insufficientStorage();
          }
          const refusal = await checkSender(deps.directory, state, address.address);
          if (refusal) throw refusal;
        }, callback, state, 'MAIL FROM');
      },
      onRcptTo: (address, session, callback) => {
        const state = sessionState(session);
        answer(async () => {
          const found = await routeRecipient(deps.directory, deps.intake, state, address.address, settings.hostname);
          const route = found instanceof SmtpReply ? found : await withoutFullMailboxes(deps.directory, found, address.address, declaredSize(session), state.quotas, state.log);
          if (route instanceof SmtpReply) {
            state.note('recipient', { rcpt: address.address, reply: route.message }, 'recipient refused');
            deps.bus.emit('smtp.rejected', { port: endpoint.port, reason: route.message, remoteAddress: session.remoteAddress });
            throw route.enhanced === '5.1.1' ? await this.unknownRecipient(state, route) : route;
          }
          state.routes.set(address.address, route);
        }, callback, state, 'RCPT TO');
      },
      onData: (stream, session, callback) => {
        const state = sessionState(session);
        const receiving = receiveMessage(stream, session, state, { store: deps.store, intake: deps.intake, directory: deps.directory, bus: deps.bus, hostname: settings.hostname, maxMessageSize: settings.maxMessageSize, port: endpoint.port, ...(deps.reclaimMemory ? { reclaimMemory: deps.reclaimMemory } : {}) });
        this.receiving.add(receiving);
        void receiving.finally(() => this.receiving.delete(receiving)).catch(() => {});
        answer(
          async () => {
            try {
              return await receiving;
            } finally {
              state.routes.clear();
              state.quotas.clear();
              if (this.stopping) setImmediate(() => this.running.forEach(({ server }) => this.closeIdle(server)));
            }
          },
          callback,
          state,
          'DATA',
        );
      },
    };
  }

  private onConnect(endpoint: SmtpEndpoint, server: SMTPServer | undefined, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    const log = this.deps.log.child({ svc: SERVICE_NAMES[endpoint.listener], cid: session.id });
    const address = session.remoteAddress;
    const note = (kind: NoticeKind, fields: object, message: string) => this.notices.note(log, address, kind, fields, message);
    this.gate.started(address, session.remotePort);
    const connection = server && connectionOf(server, session);
    const clock = connection && new SessionClock(connection, this.settings, (what) => note('deadline', {}, `closed the connection: ${what}`));
    if (connection && clock) observe(connection, clock);
    attachState(session, { log, note, listener: endpoint.listener, routes: new Map(), quotas: new Map(), unknownRecipients: 0, authFailures: 0, ...(clock ? { clock } : {}), ...(connection ? { connection } : {}) });
    if (endpoint.listener === 'submission' && !session.secure) session.disabledCommands = ['AUTH'];
    if (this.stopping) return callback(replies.shuttingDown());
    log.debug({ remoteAddress: session.remoteAddress, port: endpoint.port }, 'connected');
    callback();
  }

  private onClose(session: SMTPServerSession): void {
    try {
      const state = sessionState(session);
      state.clock?.dispose();
      state.log.debug('disconnected');
    } catch {
      // A connection that never got as far as onConnect holds nothing.
    }
  }

  /**
   * Directory harvesting (trying names to learn which exist): after a few unknown recipients on one
   * connection each further one is answered a second later, and past the limit the connection is
   * closed with 421, as Postfix's smtpd_soft_error_limit and smtpd_hard_error_limit do.
   */
  private async unknownRecipient(state: SessionState, refusal: SmtpReply): Promise<SmtpReply> {
    state.unknownRecipients += 1;
    if (state.unknownRecipients >= this.settings.unknownRecipientLimit) {
      state.note('recipient', { unknownRecipients: state.unknownRecipients }, 'too many unknown recipients; closing the connection');
      return replies.tooManyUnknownRecipients();
    }
    if (state.unknownRecipients > this.settings.unknownRecipientsBeforeDelay) await new Promise((resolve) => setTimeout(resolve, UNKNOWN_RECIPIENT_DELAY_MS));
    return refusal;
  }

  /**
   * One AUTH: the login guard counts it before the password is hashed (so parallel attempts cannot all
   * be checked) and may refuse it outright; a wrong password is answered late (the guard's delay).
   */
  private async onAuth(username: string, password: string, session: SMTPServerSession): Promise<string> {
    const state = sessionState(session);
    const client = session.remoteAddress;
    const login = await guardedLogin(this.deps.loginGuard, this.deps.authenticator, client, username, password);
    switch (login.outcome) {
      case 'refused':
        state.authFailures += 1;
        state.note('auth', { username, limit: login.limit }, 'AUTH refused: too many failures');
        throw replies.authThrottled();
      case 'busy':
        state.note('busy', {}, 'AUTH refused: too many password checks waiting');
        throw replies.authUnavailable();
      case 'wrong':
        state.authFailures += 1;
        state.note('auth', { username, delayMs: login.delayMs }, 'AUTH failed');
        this.deps.bus.emit('auth.failed', { service: SERVICE_NAMES[state.listener], remoteAddress: client, username });
        throw replies.authFailed();
    }
    const { user } = login;
    state.user = user;
    state.log.info({ user }, 'authenticated');
    return user;
  }
}

interface IdleCandidate {
  session?: { envelope?: { mailFrom?: unknown } };
  _handlerPending?: boolean;
  send(code: number, text: string): void;
  close(): void;
}

/** RFC 1870: the SIZE= a client declared on MAIL FROM (of `address` while MAIL FROM runs, else of the session's). */
function declaredSize(session: SMTPServerSession, address?: SMTPServerAddress): number | undefined {
  const from = address ?? (session.envelope.mailFrom || undefined);
  const args = from?.args as Record<string, string> | false | undefined;
  return args && args.SIZE ? Number(args.SIZE) || undefined : undefined;
}
