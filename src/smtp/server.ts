// The SMTP service: one smtp-server instance per (listener, address). Port 25 (MX) has no AUTH;
// 587 requires STARTTLS before AUTH (smtp-server refuses AUTH on a clear connection); 465 is TLS
// from the first byte. Limits per client address and on failed logins apply to all of them.
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { Authenticator, Directory, MailStore } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import { AuthThrottle, ConnectionLimiter } from './limits.js';
import { checkSender, routeRecipient } from './policy.js';
import { receiveMessage } from './receive.js';
import { roomForMessage } from './storage.js';
import { replies } from './replies.js';
import { attachState, sessionState, type Listener } from './session.js';

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

const SERVICE_NAMES: Record<Listener, string> = { mx: 'smtp', submission: 'submission', smtps: 'smtps' };

export class SmtpService {
  private readonly running: Running[] = [];
  /** Messages being received: stop() waits for them, so none is cut off from the store mid-write. */
  private readonly receiving = new Set<Promise<unknown>>();
  private readonly limiter: ConnectionLimiter;
  private readonly throttle: AuthThrottle;
  private stopping = false;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly deps: SmtpDeps,
  ) {
    this.limiter = new ConnectionLimiter(settings.maxConnectionsPerClient);
    this.throttle = new AuthThrottle(settings);
  }

  /** Starts every endpoint; resolves with the ports actually bound. */
  async listen(endpoints: SmtpEndpoint[]): Promise<SmtpEndpoint[]> {
    const bound: SmtpEndpoint[] = [];
    for (const endpoint of endpoints) {
      const server = new SMTPServer(this.options(endpoint));
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

  private options(endpoint: SmtpEndpoint): SMTPServerOptions {
    const { settings, deps } = this;
    const secure = endpoint.listener === 'smtps';
    return {
      name: settings.hostname,
      banner: 'Letterbox ESMTP',
      secure,
      key: deps.tls.key,
      cert: deps.tls.cert,
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
      onConnect: (session, callback) => this.onConnect(endpoint, session, callback),
      // RFC 4954 4: no AUTH on 587 until the connection is encrypted, so it is not even advertised.
      onSecure: (_socket, session, callback) => {
        if (endpoint.listener === 'submission') session.disabledCommands = [];
        callback();
      },
      onClose: (session) => this.onClose(session),
      onAuth: (auth, session, callback) => {
        this.onAuth(auth.username ?? '', auth.password ?? '', session).then((user) => callback(null, { user }), (err: Error) => callback(err));
      },
      onMailFrom: (address, session, callback) => {
        const state = sessionState(session);
        const declared = address.args && address.args.SIZE ? Number(address.args.SIZE) || undefined : undefined;
        roomForMessage(deps.store, settings.maxMessageSize, declared)
          .then(async (room) => {
            if (room) return checkSender(deps.directory, state, address.address);
            state.log.warn({ declared }, 'refused a message: the disk is nearly full');
            return replies.insufficientStorage();
          })
          .then((err) => callback(err), callback);
      },
      onRcptTo: (address, session, callback) => {
        const state = sessionState(session);
        routeRecipient(deps.directory, state, address.address).then((route) => {
          if (route instanceof Error) {
            state.log.info({ rcpt: address.address, reply: route.message }, 'recipient refused');
            deps.bus.emit('smtp.rejected', { port: endpoint.port, reason: route.message, remoteAddress: session.remoteAddress });
            return callback(route);
          }
          state.routes.set(address.address, route);
          callback();
        }, callback);
      },
      onData: (stream, session, callback) => {
        const state = sessionState(session);
        const receiving = receiveMessage(stream, session, state, { store: deps.store, bus: deps.bus, hostname: settings.hostname, maxMessageSize: settings.maxMessageSize, port: endpoint.port, ...(deps.reclaimMemory ? { reclaimMemory: deps.reclaimMemory } : {}) });
        this.receiving.add(receiving);
        void receiving.finally(() => this.receiving.delete(receiving)).catch(() => {});
        receiving.then(
          (message) => {
            state.routes.clear();
            callback(null, message);
            if (this.stopping) setImmediate(() => this.running.forEach(({ server }) => this.closeIdle(server)));
          },
          (err: Error) => {
            state.routes.clear();
            callback(err);
          },
        );
      },
    };
  }

  private onConnect(endpoint: SmtpEndpoint, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    const log = this.deps.log.child({ svc: SERVICE_NAMES[endpoint.listener], cid: session.id });
    const counted = this.limiter.acquire(session.remoteAddress);
    attachState(session, { log, listener: endpoint.listener, routes: new Map(), counted });
    if (endpoint.listener === 'submission' && !session.secure) session.disabledCommands = ['AUTH'];
    if (this.stopping) return callback(replies.shuttingDown());
    if (!counted) {
      log.warn({ remoteAddress: session.remoteAddress }, 'too many connections from one address');
      return callback(replies.tooManyConnections());
    }
    log.debug({ remoteAddress: session.remoteAddress, port: endpoint.port }, 'connected');
    callback();
  }

  private onClose(session: SMTPServerSession): void {
    try {
      const state = sessionState(session);
      if (state.counted) this.limiter.release(session.remoteAddress);
      state.counted = false;
      state.log.debug('disconnected');
    } catch {
      // A connection that never got as far as onConnect holds nothing.
    }
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
