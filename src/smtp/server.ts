// The SMTP service: one smtp-server instance per (listener, address). Port 25 (MX) has no AUTH;
// 587 requires STARTTLS before AUTH (smtp-server refuses AUTH on a clear connection); 465 is TLS
// from the first byte. Limits per client address and on failed logins apply to all of them.
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { Authenticator, Directory, MailStore } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import { connectionOf, observe } from './connection-hooks.js';
import { SessionClock } from './deadlines.js';
import { ConnectionGate } from './gate.js';
import { AuthThrottle } from './limits.js';
import { checkSender, routeRecipient } from './policy.js';
import { receiveMessage } from './receive.js';
import { roomForMessage } from './storage.js';
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
  store: MailStore;
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
  private readonly throttle: AuthThrottle;
  private stopping = false;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly deps: SmtpDeps,
  ) {
    this.gate = new ConnectionGate(settings, (address, reason) => deps.log.info({ svc: 'smtp', remoteAddress: address }, `connection refused: ${reason}`));
    this.throttle = new AuthThrottle(settings);
  }

  /** Starts every endpoint; resolves with the ports actually bound. */
  async listen(endpoints: SmtpEndpoint[]): Promise<SmtpEndpoint[]> {
    const bound: SmtpEndpoint[] = [];
    for (const endpoint of endpoints) {
      const holder: { server?: SMTPServer } = {};
      const server = new SMTPServer(this.options(endpoint, holder));
      holder.server = server;
      this.gate.guard(server.server, endpoint.listener === 'smtps');
      server.on('error', (err) => this.deps.log.error({ err, svc: SERVICE_NAMES[endpoint.listener] }, 'SMTP server error'));
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
        answer(async () => ({ user: await this.onAuth(auth.username ?? '', auth.password ?? '', session) }), callback, state.log, 'AUTH', replies.authUnavailable);
      },
      onMailFrom: (address, session, callback) => {
        const state = sessionState(session);
        answer(async () => {
          const declared = address.args && address.args.SIZE ? Number(address.args.SIZE) || undefined : undefined;
          if (!(await roomForMessage(deps.store, settings.maxMessageSize, declared))) {
            state.log.warn({ declared }, 'refused a message: the disk is nearly full');
            throw replies.insufficientStorage();
          }
          const refusal = await checkSender(deps.directory, state, address.address);
          if (refusal) throw refusal;
        }, callback, state.log, 'MAIL FROM');
      },
      onRcptTo: (address, session, callback) => {
        const state = sessionState(session);
        answer(async () => {
          const route = await routeRecipient(deps.directory, state, address.address, settings.hostname);
          if (route instanceof SmtpReply) {
            state.log.info({ rcpt: address.address, reply: route.message }, 'recipient refused');
            deps.bus.emit('smtp.rejected', { port: endpoint.port, reason: route.message, remoteAddress: session.remoteAddress });
            throw route.enhanced === '5.1.1' ? await this.unknownRecipient(state, route) : route;
          }
          state.routes.set(address.address, route);
        }, callback, state.log, 'RCPT TO');
      },
      onData: (stream, session, callback) => {
        const state = sessionState(session);
        const receiving = receiveMessage(stream, session, state, { store: deps.store, directory: deps.directory, bus: deps.bus, hostname: settings.hostname, maxMessageSize: settings.maxMessageSize, port: endpoint.port, ...(deps.reclaimMemory ? { reclaimMemory: deps.reclaimMemory } : {}) });
        this.receiving.add(receiving);
        void receiving.finally(() => this.receiving.delete(receiving)).catch(() => {});
        answer(
          async () => {
            try {
              return await receiving;
            } finally {
              state.routes.clear();
              if (this.stopping) setImmediate(() => this.running.forEach(({ server }) => this.closeIdle(server)));
            }
          },
          callback,
          state.log,
          'DATA',
        );
      },
    };
  }

  private onConnect(endpoint: SmtpEndpoint, server: SMTPServer | undefined, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    const log = this.deps.log.child({ svc: SERVICE_NAMES[endpoint.listener], cid: session.id });
    this.gate.started(session.remoteAddress, session.remotePort);
    const connection = server && connectionOf(server, session);
    const clock = connection && new SessionClock(connection, this.settings, (what) => log.info({ remoteAddress: session.remoteAddress }, `closed the connection: ${what}`));
    if (connection && clock) observe(connection, clock);
    attachState(session, { log, listener: endpoint.listener, routes: new Map(), unknownRecipients: 0, ...(clock ? { clock } : {}) });
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
      state.log.info({ unknownRecipients: state.unknownRecipients }, 'too many unknown recipients; closing the connection');
      return replies.tooManyUnknownRecipients();
    }
    if (state.unknownRecipients > this.settings.unknownRecipientsBeforeDelay) await new Promise((resolve) => setTimeout(resolve, UNKNOWN_RECIPIENT_DELAY_MS));
    return refusal;
  }

  // A success does not wipe the client's failures: one valid account must not reset the penalty
  // between guesses at others.
  private async onAuth(username: string, password: string, session: SMTPServerSession): Promise<string> {
    const state = sessionState(session);
    const client = session.remoteAddress;
    if (this.throttle.blocked(client)) {
      state.log.warn({ remoteAddress: client }, 'AUTH refused: too many failures');
      throw replies.authThrottled();
    }
    const user = await this.deps.authenticator.authenticate(username, password);
    if (!user) {
      const delay = this.throttle.fail(client);
      state.log.warn({ remoteAddress: client, username, delayMs: delay }, 'AUTH failed');
      this.deps.bus.emit('auth.failed', { service: SERVICE_NAMES[state.listener], remoteAddress: client, username });
      await new Promise((resolve) => setTimeout(resolve, delay));
      throw replies.authFailed();
    }
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
