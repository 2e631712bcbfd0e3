// The byte stream under one IMAP connection, as it changes hands: plain TCP, then TLS (993 from the
// first byte, or after STARTTLS, RFC 3501 6.2.1), then maybe DEFLATE on top (RFC 4978). The connection
// reads and writes through this and never sees which layer is on.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import zlib from 'node:zlib';

/** Output queued beyond this pauses reading (and handlers that await drained()). */
export const HIGH_WATER = 256 * 1024;
/** Output gathered into one socket write up to this size (a FETCH answer is thousands of short lines). */
const BATCH_BYTES = 64 * 1024;
/** How long a client has to complete a TLS handshake. */
export const HANDSHAKE_MS = 10_000;
/** After our last words, how long the client has to close its side before the socket is destroyed. */
const LINGER_MS = 2_000;

export interface TransportEvents {
  data(chunk: Buffer): void;
  /** Once, whatever the cause. */
  close(): void;
  /** A fault of the stream (reset, bad TLS, bad DEFLATE data): already closing. */
  error(err: Error): void;
}

export class Transport {
  private network: Socket;
  private inflate: zlib.InflateRaw | null = null;
  private deflate: zlib.DeflateRaw | null = null;
  private flushScheduled = false;
  /** Written and not yet handed to the socket: sent as one write at BATCH_BYTES or when the burst ends. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private sendScheduled = false;
  private isClosed = false;
  /** end() was called: nothing more is written. */
  private ending = false;
  private readonly waiters = new Set<() => void>();
  private readonly onData = (chunk: Buffer) => this.events.data(chunk);

  constructor(
    socket: Socket,
    public secure: boolean,
    private readonly events: TransportEvents,
  ) {
    this.network = socket;
    this.attach(socket);
    socket.on('data', this.onData);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Closed, or closing after end(). */
  get ended(): boolean {
    return this.isClosed || this.ending;
  }

  get compressed(): boolean {
    return this.deflate !== null;
  }

  /** Bytes written and not yet handed to the kernel. */
  get backlog(): number {
    return this.pendingBytes + this.network.writableLength + (this.deflate?.writableLength ?? 0);
  }

  write(bytes: Buffer): void {
    if (this.isClosed || this.ending || this.network.destroyed) return;
    if (!this.deflate) {
      // One socket write (one TCP segment train, one TLS record run) per burst rather than per line.
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      if (this.pendingBytes >= BATCH_BYTES) this.send();
      else if (!this.sendScheduled) {
        this.sendScheduled = true;
        setImmediate(() => {
          this.sendScheduled = false;
          this.send();
        });
      }
      return;
    }
    this.deflate.write(bytes);
    // RFC 4978 4: each response must reach the client whole, so the compressor is flushed after a burst.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (!this.isClosed) this.deflate?.flush(zlib.constants.Z_SYNC_FLUSH);
      });
    }
  }

  /** Hands what write() gathered to the socket (before the layer under it changes, and before the end). */
  private send(): void {
    if (this.pendingBytes === 0) return;
    const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.isClosed && !this.network.destroyed) this.network.write(bytes);
  }

  /** Resolves once the backlog is below HIGH_WATER (or the connection has gone). */
  drained(): Promise<void> {
    if (this.isClosed || this.backlog < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.isClosed && this.backlog >= HIGH_WATER) return;
        this.network.off('drain', check);
        this.deflate?.off('drain', check);
        this.waiters.delete(check);
        resolve();
      };
      this.network.on('drain', check);
      this.deflate?.on('drain', check);
      this.waiters.add(check);
    });
  }

  pause(): void {
    this.network.pause();
  }

  resume(): void {
    if (!this.isClosed) this.network.resume();
  }

  /** Starts TLS on the socket (STARTTLS after its OK, or 993 at accept); resolves once it is up. */
  startTls(context: SecureContext): Promise<void> {
    this.send(); // the OK to STARTTLS goes in plain text (RFC 3501 6.2.1)
    const plain = this.network;
    plain.off('data', this.onData);
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.network = secure;
    this.attach(secure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('TLS handshake timed out'));
        this.destroy();
      }, HANDSHAKE_MS);
      secure.once('secure', () => {
        clearTimeout(timer);
        this.secure = true;
        secure.on('data', this.onData);
        resolve();
      });
      secure.once('close', () => {
        clearTimeout(timer);
        reject(new Error('connection closed during the TLS handshake'));
      });
    });
  }

  /** RFC 4978: from now on both directions are raw DEFLATE; `held` was sent compressed already. */
  startCompression(held: Buffer): void {
    this.send(); // the OK to COMPRESS goes uncompressed (RFC 4978 3)
    const inflate = zlib.createInflateRaw();
    const deflate = zlib.createDeflateRaw();
    this.network.off('data', this.onData);
    this.network.on('data', (chunk: Buffer) => inflate.write(chunk));
    inflate.on('data', this.onData);
    inflate.on('error', (err) => this.fail(err));
    deflate.on('data', (chunk: Buffer) => {
      if (!this.network.destroyed) this.network.write(chunk);
    });
    deflate.on('error', (err) => this.fail(err));
    this.inflate = inflate;
    this.deflate = deflate;
    if (held.length > 0) inflate.write(held);
  }

  /** Sends what is queued, then closes; the client is given a moment to close its side. */
  end(): void {
    if (this.isClosed || this.ending) return;
    this.send();
    this.ending = true;
    const socket = this.network;
    const finish = () => {
      socket.end();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    };
    if (this.deflate) {
      // The compressor's last output is written from its 'data' events: the socket may end only after
      // its 'end', when all of it has gone through them (a flush callback can come before them).
      this.deflate.once('end', finish);
      this.deflate.end();
    } else finish();
  }

  destroy(): void {
    this.network.destroy();
  }

  private attach(socket: Socket): void {
    socket.on('error', (err) => this.fail(err));
    socket.once('close', () => this.closedNow());
  }

  private fail(err: Error): void {
    if (this.isClosed) return;
    this.events.error(err);
    this.network.destroy();
  }

  private closedNow(): void {
    // After STARTTLS both the plain socket and the TLS one report their close: the first one counts.
    if (this.isClosed) return;
    this.isClosed = true;
    this.inflate?.destroy();
    this.deflate?.destroy();
    for (const waiter of this.waiters) waiter();
    this.events.close();
  }
}
