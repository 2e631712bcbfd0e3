// A raw SMTP client for tests that must see the exact bytes on the wire (EHLO lines, reply codes,
// what happens to garbage), and a small wrapper around swaks.
// nodemailer is the client for normal sending; this one exists because it hides what we assert on.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { execFile } from 'node:child_process';

export interface Reply {
  code: number;
  /** Each line without the `250-` / `250 ` prefix. */
  lines: string[];
  /** The reply as it came over the wire, lines joined with `\n`. */
  raw: string;
}

/** How long a test waits for any one reply: far more than a server under load takes, far less than tap's timeout. */
const REPLY_TIMEOUT_MS = 60_000;

/** One SMTP conversation over a loopback socket; replies are read in order (RFC 5321 4.2). */
export class SmtpClient {
  greeting!: Reply;
  private socket!: Socket | TLSSocket;
  private buffer = '';
  private replies: Reply[] = [];
  private waiting: { resolve: (reply: Reply) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }[] = [];
  private ended = false;
  /** Resolves when the server has closed the connection (or it broke). */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor() {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /**
   * Connects and reads the greeting; `implicitTls` for port 465 (RFC 8314 3.3); `localAddress` to come
   * from another loopback address (127.0.0.2 ...), as another client would.
   */
  static async connect(port: number, options: { implicitTls?: boolean; localAddress?: string } = {}): Promise<SmtpClient> {
    const client = new SmtpClient();
    const from = options.localAddress ? { localAddress: options.localAddress } : {};
    const socket = options.implicitTls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...from })
      : netConnect({ host: '127.0.0.1', port, ...from });
    client.attach(socket);
    client.greeting = await client.reply();
    return client;
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => this.receive(text));
    socket.on('error', () => this.finish());
    socket.on('close', () => this.finish());
  }

  private receive(text: string): void {
    this.buffer += text;
    let newline: number;
    let lines: string[] = [];
    while ((newline = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 2);
      lines.push(line);
      // The last line of a reply has a space (or nothing) after the code; the others a hyphen.
      if (/^\d{3}(?: |$)/.test(line)) {
        this.deliver({ code: Number(line.slice(0, 3)), lines: lines.map((l) => l.slice(4)), raw: lines.join('\n') });
        lines = [];
      }
    }
    if (lines.length > 0) this.buffer = lines.map((l) => `${l}\r\n`).join('') + this.buffer;
  }

  private deliver(reply: Reply): void {
    const waiter = this.waiting.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(reply);
    } else this.replies.push(reply);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of this.waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('connection closed'));
    }
    this.markClosed();
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /**
   * The next reply; rejects when the connection closes first, or when none comes within `timeoutMs`
   * (a server that hangs fails the test there, with what it was waiting for, not at the file's timeout).
   */
  reply(timeoutMs = REPLY_TIMEOUT_MS): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(new Error(`no reply from the server within ${timeoutMs / 1000} s`));
        }, timeoutMs),
      };
      this.waiting.push(waiter);
    });
  }

  /** Whether the server closes the connection within `timeoutMs`: an answer to assert on, not a hang. */
  async closedWithin(timeoutMs = 30_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.closed.then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every reply received and not yet read, taken out of the queue. */
  drain(): Reply[] {
    return this.replies.splice(0);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  async ehlo(name = 'client.test'): Promise<Reply> {
    return this.command(`EHLO ${name}`);
  }

  /** RFC 3207: after 220 the same socket carries TLS; the old session state is gone. */
  async starttls(): Promise<Reply> {
    const ready = await this.command('STARTTLS');
    if (ready.code !== 220) return ready;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain as Socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.attach(secure);
    return ready;
  }

  /** AUTH PLAIN with an initial response (RFC 4616). */
  async authPlain(user: string, password: string): Promise<Reply> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
  }

  /** AUTH LOGIN: the username and password each answer a 334 challenge. */
  async authLogin(user: string, password: string): Promise<Reply> {
    const first = await this.command('AUTH LOGIN');
    if (first.code !== 334) return first;
    const second = await this.command(Buffer.from(user).toString('base64'));
    if (second.code !== 334) return second;
    return this.command(Buffer.from(password).toString('base64'));
  }

  /** DATA, then the message (which must end with CRLF and need no dot-stuffing): the final reply. */
  async data(message: string): Promise<Reply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    return this.command(`${message}.`);
  }

  /**
   * MAIL, RCPT..., DATA and the message; returns every reply in order. Stops at the first refusal
   * of MAIL or DATA. `message` must end with CRLF and be dot-stuffed already.
   */
  async transaction(from: string, to: string[], message: string): Promise<Reply[]> {
    const replies = [await this.command(`MAIL FROM:<${from}>`)];
    if (replies[0]!.code !== 250) return replies;
    for (const rcpt of to) replies.push(await this.command(`RCPT TO:<${rcpt}>`));
    const data = await this.command('DATA');
    replies.push(data);
    if (data.code !== 354) return replies;
    replies.push(await this.command(`${message}.`));
    return replies;
  }

  async quit(): Promise<void> {
    if (!this.ended) {
      this.write('QUIT\r\n');
      await this.reply().catch(() => undefined);
    }
    this.socket.destroy();
    await this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Runs swaks against 127.0.0.1; resolves with its transcript and exit code (never rejects). */
export function swaks(path: string, args: string[]): Promise<{ transcript: string; code: number }> {
  return new Promise((resolve) => {
    execFile(path, ['--server', '127.0.0.1', '--helo', 'client.test', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ transcript: `${stdout}${stderr}`, code });
    });
  });
}
