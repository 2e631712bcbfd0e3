// The IMAP service: a TCP listener per (endpoint, address), port 143 (STARTTLS) and 993 (TLS from the
// first byte). Connections per client address are counted here at accept, across both ports, and
// sessions per user at login; close() tells every client `* BYE` and waits for them to go.
import net, { type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { EventBus } from '../core/events.js';
import type { ImapBackend } from './backend.js';
import { commandRegistry } from './commands/index.js';
import { ImapConnection, type ImapSettings } from './connection.js';
import type { AnyCommand } from './dispatch.js';
import { EncodedCache } from './fetch/encoded-cache.js';
import { isLoopback, texts } from './responses.js';

export type { ImapSettings } from './connection.js';

export type ImapListener = 'imap' | 'imaps';

export interface ImapEndpoint {
  listener: ImapListener;
  host: string;
  port: number;
}

export interface ImapDeps {
  backend: ImapBackend;
  bus: EventBus;
  log: Logger;
  tls: { key: Buffer | string; cert: Buffer | string };
  /** Which client addresses count as this machine (LOGIN before TLS); loopback by default. */
  isLocal?: (address: string) => boolean;
  /** The commands; the full registry by default (tests may give fewer). */
  commands?: ReadonlyMap<string, AnyCommand>;
}

interface Running {
  endpoint: ImapEndpoint;
  server: Server;
}

export class ImapServer {
  private readonly running: Running[] = [];
  private readonly connections = new Set<ImapConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly perUser = new Map<string, number>();
  private readonly secureContext: SecureContext;
  private readonly commands: ReadonlyMap<string, AnyCommand>;
  private readonly encoded = new EncodedCache();
  private nextId = 1;
  private stopping = false;

  constructor(
    private readonly settings: ImapSettings,
    private readonly deps: ImapDeps,
  ) {
    // TLS 1.2 and 1.3 only (RFC 9325 4.1), as on the SMTP ports.
    this.secureContext = createSecureContext({ key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2' });
    this.commands = deps.commands ?? commandRegistry();
  }

  /** Starts every endpoint; resolves with the ports actually bound. */
  async listen(endpoints: ImapEndpoint[]): Promise<ImapEndpoint[]> {
    const bound: ImapEndpoint[] = [];
    for (const endpoint of endpoints) {
      const server = net.createServer((socket) => this.accept(socket, endpoint));
      server.on('error', (err) => this.deps.log.error({ err, svc: endpoint.listener }, 'IMAP listener error'));
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: endpoint.port, host: endpoint.host, ipv6Only: endpoint.host.includes(':') }, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : endpoint.port);
        });
      });
      const actual = { ...endpoint, port };
      this.running.push({ endpoint: actual, server });
      bound.push(actual);
      this.deps.bus.emit('service.listening', { service: endpoint.listener, address: endpoint.host, port });
      this.deps.log.info({ svc: endpoint.listener, address: endpoint.host, port }, 'listening');
    }
    return bound;
  }

  /** Sessions open now (for tests and status). */
  get sessionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, says `* BYE Server shutting down` to every client (after the command each is
   * running), waits up to `graceMs` for them to go, then cuts what is left.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const stopped = this.running.map(
      ({ server, endpoint }) =>
        new Promise<void>((resolve) => server.close(() => resolve())).then(() => this.deps.bus.emit('service.stopped', { service: endpoint.listener })),
    );
    this.running.length = 0;
    for (const connection of this.connections) connection.shutdown();
    const all = Promise.all([...this.connections].map((connection) => connection.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([all, timeout])) === 'timeout') {
      for (const connection of this.connections) connection.transport.destroy();
      await all;
    }
    clearTimeout(timer);
    await Promise.all(stopped);
  }

  private accept(socket: Socket, endpoint: ImapEndpoint): void {
    socket.on('error', () => {}); // a reset before the connection's own listeners are on must not throw
    // IMAP is request/response: with Nagle on, a short answer waits for the client's delayed ACK (~40 ms).
    // Responses are batched per burst in the transport instead.
    socket.setNoDelay(true);
    const address = socket.remoteAddress ?? '';
    const cid = `${endpoint.listener}-${(this.nextId++).toString(36)}`;
    const log = this.deps.log.child({ svc: endpoint.listener, cid });
    const refusal = this.admitAddress(address);
    const connection = new ImapConnection(socket, endpoint.listener === 'imaps', this.connectionDeps(), log);
    this.connections.add(connection);
    log.debug({ remoteAddress: address, port: endpoint.port }, 'connected');
    void connection.done.then(() => {
      this.connections.delete(connection);
      if (!refusal) this.releaseAddress(address);
    });
    if (refusal) log.info({ remoteAddress: address }, `connection refused: ${refusal}`);
    void connection.start(refusal ?? undefined);
  }

  /** RFC-less but Dovecot-like: too many connections from one address are told so and closed. */
  private admitAddress(address: string): string | null {
    if (this.stopping) return texts.shuttingDown;
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.settings.maxConnectionsPerAddress) return texts.tooManyConnections;
    this.perAddress.set(address, open + 1);
    return null;
  }

  private releaseAddress(address: string): void {
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }

  private connectionDeps() {
    return {
      backend: this.deps.backend,
      settings: this.settings,
      commands: this.commands,
      tls: this.secureContext,
      log: this.deps.log,
      isLocal: this.deps.isLocal ?? isLoopback,
      encoded: this.encoded,
      sessions: {
        admit: (user: string) => {
          const open = this.perUser.get(user) ?? 0;
          if (open >= this.settings.maxSessionsPerUser) return false;
          this.perUser.set(user, open + 1);
          return true;
        },
        release: (user: string) => {
          const left = (this.perUser.get(user) ?? 1) - 1;
          if (left <= 0) this.perUser.delete(user);
          else this.perUser.set(user, left);
        },
      },
    };
  }
}
