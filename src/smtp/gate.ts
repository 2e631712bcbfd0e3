// The door every TCP connection passes on every SMTP port before smtp-server sees it (issue 6):
// - connections per client address are counted here, at accept, across all ports, so an address over
//   its share is refused before it holds one of the global slots (maxConnections) or a TLS handshake;
// - an implicit-TLS connection (465) must finish its handshake within tlsHandshakeSeconds, so
//   connections that never send a ClientHello cannot fill the server.
// Refused connections are told `421 4.7.0` where a reply can be read (25, 587) and dropped on 465.
import type { Server, Socket } from 'node:net';
import { destroyConnection } from './connection-hooks.js';
import { replies } from './replies.js';

export interface GateSettings {
  maxConnectionsPerClient: number;
  tlsHandshakeSeconds: number;
}

type Accept = (socket: Socket) => void;

export class ConnectionGate {
  private readonly open = new Map<string, number>();
  private readonly handshakes = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly settings: GateSettings,
    /** Told of each refusal (rate-limited logging is the caller's). */
    private readonly refused: (address: string, reason: 'too many connections' | 'no TLS handshake') => void,
  ) {}

  /** Puts the gate in front of the handlers smtp-server registered on its listening socket. */
  guard(server: Server, implicitTls: boolean): void {
    const accept = server.listeners('connection') as Accept[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (this.admit(socket, implicitTls)) for (const handler of accept) handler.call(server, socket);
    });
  }

  /** The session has started (onConnect): a 465 connection got through its handshake. */
  started(address: string, port: number): void {
    const key = `${address} ${port}`;
    clearTimeout(this.handshakes.get(key));
    this.handshakes.delete(key);
  }

  /** Connections open from `address` now, on all ports. */
  count(address: string): number {
    return this.open.get(address) ?? 0;
  }

  private admit(socket: Socket, implicitTls: boolean): boolean {
    const address = socket.remoteAddress ?? '';
    socket.on('error', () => {}); // a reset before smtp-server's own listeners are on must not throw
    if (this.count(address) >= this.settings.maxConnectionsPerClient) {
      this.refused(address, 'too many connections');
      if (implicitTls) socket.destroy();
      else socket.end(`421 ${replies.tooManyConnections().message}\r\n`);
      return false;
    }
    this.open.set(address, this.count(address) + 1);
    socket.once('close', () => this.release(address, `${address} ${socket.remotePort}`));
    if (implicitTls) this.expectHandshake(socket, address);
    return true;
  }

  private expectHandshake(socket: Socket, address: string): void {
    const key = `${address} ${socket.remotePort}`;
    const timer = setTimeout(() => {
      this.handshakes.delete(key);
      this.refused(address, 'no TLS handshake');
      destroyConnection(socket);
    }, this.settings.tlsHandshakeSeconds * 1000);
    timer.unref();
    this.handshakes.set(key, timer);
  }

  private release(address: string, key: string): void {
    const left = this.count(address) - 1;
    if (left <= 0) this.open.delete(address);
    else this.open.set(address, left);
    clearTimeout(this.handshakes.get(key));
    this.handshakes.delete(key);
  }
}
