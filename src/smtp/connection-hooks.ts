// The few smtp-server connection internals Letterbox relies on, in one place (smtp-server is pinned to
// an exact version in package.json for this reason): every reply goes through SMTPConnection.send(),
// every command through _onCommand(), every implicit-TLS handshake through SMTPServer._upgrade(). Patched
// once, at import, to let a per-connection observer see replies and commands (deadlines.ts), to correct
// two replies, and to end a connection in its TLS handshake safely (below).
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection';

export interface ConnectionObserver {
  /** A command line arrived (its first word, upper case). */
  command(name: string): void;
  /** A reply was sent. */
  reply(code: number): void;
}

/** What the rest of the service may do with a connection. */
export interface ConnectionHandle {
  send(code: number, text: string): void;
  close(): void;
  /** An application hook (ours) is working on the client's last command. */
  readonly busy: boolean;
}

interface Connection {
  id: string;
  secure: boolean;
  session?: SMTPServerSession & { disabledCommands?: string[] };
  _server: { options: { disabledCommands?: string[] } };
  _handlerPending?: boolean;
  send(code: number, data: unknown, context?: unknown): void;
  close(): void;
  _onCommand(command: Buffer | string, callback?: () => void): void;
}

const observers = new WeakMap<object, ConnectionObserver>();

export function observe(connection: ConnectionHandle, observer: ConnectionObserver): void {
  observers.set(connection, observer);
}

/** The connection that carries `session`, while it is open. */
export function connectionOf(server: SMTPServer, session: SMTPServerSession): ConnectionHandle | undefined {
  const connections = (server as unknown as { connections: Set<Connection> }).connections;
  for (const connection of connections) {
    // send() and close() are the connection's own; `busy` is defined on its prototype below.
    if (connection.session === session) return connection as unknown as ConnectionHandle;
  }
  return undefined;
}

const ENHANCED_FIRST = /^[245]\.\d{1,3}\.\d{1,3} /;

// Two corrections to what smtp-server sends:
// - It derives the enhanced code of an error reply from its numeric code alone (554 -> 5.6.0, 553 ->
//   5.1.3, 552 -> 5.2.2), which would misreport a relay refusal or an oversized message. Our error texts
//   carry their own code first; for those, tell send() to add none.
// - AUTH on 587 before STARTTLS is disabled for the session (so not advertised), which smtp-server
//   answers `500 command not recognized`; RFC 3207 4 and RFC 4954 4 say `530 5.7.0`.
const proto = SMTPConnection.prototype as unknown as Connection & { __letterboxPatched?: boolean };
if (!proto.__letterboxPatched) {
  const send = proto.send;
  proto.send = function (this: Connection, code: number, data: unknown, context?: unknown) {
    observers.get(this)?.reply(code);
    if (code === 500 && context === 'AUTH' && authWaitsForTls(this)) return send.call(this, 530, '5.7.0 Must issue a STARTTLS command first', false);
    const ownCode = context === undefined && typeof data === 'string' && ENHANCED_FIRST.test(data);
    return send.call(this, code, data, ownCode ? false : context);
  };
  const onCommand = proto._onCommand;
  proto._onCommand = function (this: Connection, command: Buffer | string, callback?: () => void) {
    observers.get(this)?.command((command || '').toString().split(' ', 1)[0]?.toUpperCase() ?? '');
    return onCommand.call(this, command, callback);
  };
  Object.defineProperty(proto, 'busy', {
    get(this: Connection) {
      return !!this._handlerPending;
    },
  });
  proto.__letterboxPatched = true;
}

// The implicit-TLS handshake (465), SMTPServer._upgrade():
// - A failed one reaches the server's 'error' event without the client's address when the socket closed
//   first (Node forgets a closed socket's address): it is noted before, so the log line can name it and
//   be rate-limited per address (notices.ts).
// - The TLS socket it lays over the accepted one is remembered: a connection must be ended through it.
//   Destroying the accepted socket underneath a handshake in progress frees the handle the TLS layer
//   still uses, and Node 20 dies of a segmentation fault (the handshake deadline in gate.ts did that).
type Upgrade = (socket: Socket, callback: (err: (Error & { remoteAddress?: string }) | null, tls?: unknown) => void) => void;
const serverProto = SMTPServer.prototype as unknown as { _upgrade: Upgrade; __letterboxPatched?: boolean };
const tlsOver = new WeakMap<Socket, Socket>();
if (!serverProto.__letterboxPatched) {
  const upgrade = serverProto._upgrade;
  serverProto._upgrade = function (this: { _pendingSockets?: Map<Socket, Socket> }, socket, callback) {
    const address = socket.remoteAddress;
    const result = upgrade.call(this, socket, (err, tls) => {
      if (err && !err.remoteAddress && address) err.remoteAddress = address;
      callback(err, tls);
    });
    const secure = this._pendingSockets?.get(socket);
    if (secure && secure !== socket) tlsOver.set(socket, secure);
    return result;
  };
  serverProto.__letterboxPatched = true;
}

/** Ends an accepted connection, through the TLS socket laid over it when there is one. */
export function destroyConnection(socket: Socket): void {
  (tlsOver.get(socket) ?? socket).destroy();
}

/** AUTH is off for this session only (587 before STARTTLS), not for the whole listener (port 25). */
function authWaitsForTls(connection: Connection): boolean {
  return !connection.secure && !!connection.session?.disabledCommands?.includes('AUTH') && !connection._server.options.disabledCommands?.includes('AUTH');
}
