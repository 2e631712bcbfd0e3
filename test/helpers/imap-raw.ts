// A raw IMAP client for protocol details: sends bytes exactly as written and hands back the server's
// lines as text, so tests assert what is on the wire. Plain TCP, TLS from the start, or STARTTLS.
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import zlib from 'node:zlib';

export class RawImap {
  /** Every line received so far (without CRLF), in order. */
  readonly lines: string[] = [];
  private read = 0;
  private partial = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private inflate: zlib.InflateRaw | null = null;
  private deflate: zlib.DeflateRaw | null = null;

  private constructor(private socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  static async connect(port: number, options: { tls?: boolean; host?: string; localAddress?: string } = {}): Promise<RawImap> {
    const host = options.host ?? '127.0.0.1';
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s: Socket | TLSSocket = options.tls
        ? connectTls({ host, port, rejectUnauthorized: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => resolve(s))
        : connectTcp({ host, port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => resolve(s));
      s.once('error', reject);
    });
    return new RawImap(socket);
  }

  send(text: string | Buffer): void {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    if (this.deflate) {
      this.deflate.write(bytes);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else this.socket.write(bytes);
  }

  /** Waits for a line matching `pattern` among those not yet consumed; returns the lines up to it. */
  async until(pattern: RegExp, timeoutMs = 5_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.slice(this.read).findIndex((line) => pattern.test(line));
      if (index >= 0) {
        const got = this.lines.slice(this.read, this.read + index + 1);
        this.read += index + 1;
        return got;
      }
      if (this.closed) throw new Error(`closed before ${pattern}; got ${JSON.stringify(this.lines.slice(this.read))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.lines.slice(this.read))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `tag command` and returns every line up to its tagged answer. */
  async command(tag: string, command: string, timeoutMs?: number): Promise<string[]> {
    this.send(`${tag} ${command}\r\n`);
    return this.until(new RegExp(`^${tag} (OK|NO|BAD)`), timeoutMs);
  }

  /** Resolves once the server has closed the connection. */
  async closedByServer(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** After the server's OK to STARTTLS. */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = connectTls({ socket: plain, rejectUnauthorized: false }, () => resolve(secure));
      secure.once('error', reject);
    });
    this.listen(this.socket);
  }

  /** After the server's OK to COMPRESS DEFLATE. */
  startCompression(): void {
    this.inflate = zlib.createInflateRaw();
    this.deflate = zlib.createDeflateRaw();
    this.deflate.on('data', (chunk: Buffer) => this.socket.write(chunk));
    this.inflate.on('data', (chunk: Buffer) => this.take(chunk));
    this.socket.removeAllListeners('data');
    this.socket.on('data', (chunk: Buffer) => this.inflate?.write(chunk));
  }

  /** Stops reading (a slow reader); the server's output backs up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      const done = () => {
        this.closed = true;
        this.notify();
      };
      // Inflating is asynchronous: the last lines come out after the socket has closed.
      if (this.inflate) {
        this.inflate.once('end', done);
        this.inflate.once('error', done);
        this.inflate.end();
      } else done();
    });
  }

  private take(chunk: Buffer): void {
    this.partial += chunk.toString('latin1');
    let newline: number;
    while ((newline = this.partial.indexOf('\r\n')) >= 0) {
      this.lines.push(this.partial.slice(0, newline));
      this.partial = this.partial.slice(newline + 2);
    }
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
