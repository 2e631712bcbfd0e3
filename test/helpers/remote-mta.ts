// Remote MTAs for delivery tests, on 127.0.0.x. Postfix's smtp-sink gives scripted answers (refuse RCPT,
// DATA or the final dot with 4xx/5xx, hang up with 421) and, run with -v, prints every session's commands,
// which is how tests count connections and see the exact MAIL/RCPT parameters. A full Postfix instance
// (per-recipient refusals, TLS, the AUTH smarthost) is in postfix.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { stopChild } from './dnsmasq.js';
import { needPeer, type SkipOrFail } from './peers.js';
import { freePort, retryOnAddressInUse } from './ports.js';
import { Changes } from './wait.js';

/** What the helpers need of a tap test: cleanup, and a way to skip when a peer is missing. */
export interface TapLike {
  teardown(fn: () => unknown): void;
  skip(name: string, fn: () => void): unknown;
  fail(message: string): unknown;
}

/** A TapLike as peers.ts's missingPeer and needPeer take it. */
export function skipOrFail(t: TapLike): SkipOrFail {
  return { skip: (reason: string) => void t.skip(reason, () => undefined), fail: (reason: string) => void t.fail(reason) };
}

/** needPeer (peers.ts) with a tap test: a missing tool skips (or, in CI, fails) the current test. */
export function needTool(t: TapLike, command: string, debianPackage: string): string | null {
  return needPeer(skipOrFail(t), command, debianPackage);
}

/** Lines a child process printed, with waiting for a line to show up. */
export class LineLog {
  readonly lines: string[] = [];
  private partial = '';
  private readonly changes = new Changes();

  add(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    this.changes.changed();
  }

  /** Follows a file another process appends to (Postfix's maillog_file), until the returned stop is called. */
  follow(path: string): () => void {
    let offset = 0;
    const buffer = Buffer.alloc(64 * 1024);
    const poll = () => {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        return; // not created yet
      }
      try {
        for (let n = readSync(fd, buffer, 0, buffer.length, offset); n > 0; n = readSync(fd, buffer, 0, buffer.length, offset)) {
          offset += n;
          this.add(buffer.subarray(0, n));
        }
      } finally {
        closeSync(fd);
      }
    };
    const timer = setInterval(poll, 50);
    return () => {
      clearInterval(timer);
      poll();
    };
  }

  count(pattern: RegExp): number {
    return this.lines.filter((line) => pattern.test(line)).length;
  }

  /** Resolves once `check()` holds, looking again at each new line; rejects after `limitMs` with `failure()`. */
  until(check: () => boolean, failure: () => string, limitMs = 30_000): Promise<void> {
    return this.changes.until(check, failure, limitMs);
  }

  /** Resolves once `count` lines match; rejects after `timeoutMs` with the log for the test output. */
  waitFor(pattern: RegExp, count = 1, timeoutMs = 30_000): Promise<void> {
    return this.changes.until(() => this.count(pattern) >= count, () => `no ${count} lines matching ${pattern} in:\n${this.lines.join('\n')}`, timeoutMs);
  }
}

/**
 * Polls until something accepts TCP connections on host:port (or the child dies). With `served`, that
 * connection counts only once the child's log shows it served it: another program may hold the port
 * (the child then exits, failing to bind), and a connection to that one proves nothing.
 */
export async function waitUntilListening(host: string, port: number, child: ChildProcess, log: LineLog, served?: RegExp): Promise<void> {
  // Once the child has exited, what it wrote last (why it exited: a port taken, say) is read by 'close'.
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    if (child.stdout?.closed !== false && child.stderr?.closed !== false) resolve();
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
      throw new Error(`server exited with ${child.exitCode ?? child.signalCode}:\n${log.lines.join('\n')}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up && !served) return;
    if (up && served) {
      const seen = () => log.count(served) > 0;
      await log.until(() => seen() || exited(), () => `no line ${served} after a connection to ${host}:${port}:\n${log.lines.join('\n')}`, Math.max(deadline - Date.now(), 1_000));
      if (seen()) return;
      continue; // it exited: told at the top
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${host}:${port} after 20 s:\n${log.lines.join('\n')}`);
}

export interface SinkSession {
  /** The commands of one connection, as sent ("EHLO mx.letterbox.test", "MAIL FROM:<a@b> SIZE=12", "."). */
  commands: string[];
}

export interface RunningSink {
  host: string;
  port: number;
  log: LineLog;
  /** Sessions since the sink was ready, including one still open. */
  sessions(): SinkSession[];
  /** Waits until `count` sessions have ended, then returns them all. */
  ended(count: number): Promise<SinkSession[]>;
  /**
   * With `hold`: resolves once the hold has begun (the line that starts it has reached the sink);
   * rejects, with the sink's log, when it has not within `timeoutMs`.
   */
  held(timeoutMs?: number): Promise<void>;
  /** With `hold`: what the clients sent meanwhile goes on to the sink, and nothing is held any more. */
  release(): void;
  stop(): Promise<void>;
}

export interface SinkOptions {
  host: string;
  port: number;
  /** Name in the greeting and EHLO reply. */
  hostname?: string;
  /**
   * smtp-sink's own options (see smtp-sink(1)), e.g. ['-f', 'RCPT', '-B', '550 5.1.1 ...'] to refuse every
   * RCPT for good, ['-r', 'RCPT'] for 450, ['-f', '.'] to refuse the message after DATA, ['-Q', 'MAIL']
   * for a 421 and a hang-up.
   */
  options?: string[];
  /**
   * Holds the far side still until the test calls `release()`, so that a race the test sets up stays
   * open however loaded the machine is (never a delay such as `-w`): from the `count`-th line clients
   * send that matches `after` on (a command such as /^DATA$/i, or /^\.$/ for the end of a message),
   * nothing more that any client sends reaches the sink. The sink answers what it got, so each client
   * waits for the answer to what it sent next: its attempt stays in flight. The sessions then go
   * through a front on host:port that the test controls; the sink itself listens on another port.
   */
  hold?: { after: RegExp; count?: number };
}

const COMMAND = /^(?:EHLO|HELO|LHLO|MAIL|RCPT|DATA|RSET|NOOP|QUIT|VRFY|STARTTLS|AUTH|XCLIENT|XFORWARD|BDAT)\b|^\.$/i;

function parseSessions(lines: readonly string[], from: number): SinkSession[] {
  const sessions: SinkSession[] = [];
  let connects = 0;
  for (const line of lines) {
    const text = line.replace(/^.*?smtp-sink: /, '');
    if (/^connect \(/.test(text)) {
      connects++;
      if (connects > from) sessions.push({ commands: [] });
    } else if (connects > from && COMMAND.test(text)) {
      sessions[sessions.length - 1]?.commands.push(text);
    }
  }
  return sessions;
}

export async function startSmtpSink(t: TapLike, sink: SinkOptions): Promise<RunningSink | null> {
  const binary = needTool(t, '/usr/sbin/smtp-sink', 'postfix');
  if (!binary) return null;
  // With a hold, the sink listens on a port of its own behind the front: one this helper chooses, so
  // chosen again when another process took it first.
  const { child, log, port } = sink.hold
    ? await retryOnAddressInUse(async () => spawnSink(t, binary, sink, await freePort(sink.host)))
    : await spawnSink(t, binary, sink, sink.port);
  let front: HoldingFront | undefined;
  const stop = async () => {
    await front?.close();
    await stopChild(child);
  };
  t.teardown(stop);
  // The readiness probe was a session too; count from the one after it.
  await log.waitFor(/smtp-sink: disconnect/);
  const baseline = log.count(/smtp-sink: connect \(/);
  if (sink.hold) {
    front = new HoldingFront({ host: sink.host, port }, sink.hold.after, sink.hold.count ?? 1);
    await front.listen(sink.host, sink.port);
  }
  return {
    host: sink.host,
    port: sink.port,
    log,
    sessions: () => parseSessions(log.lines, baseline),
    ended: async (count) => {
      await log.waitFor(/smtp-sink: disconnect/, baseline + count);
      return parseSessions(log.lines, baseline);
    },
    held: async (timeoutMs = 60_000) => {
      if (!front) throw new Error('this sink was started without a hold');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the sink was not held within ${timeoutMs / 1000} s:\n${log.lines.join('\n')}`)), timeoutMs);
      });
      try {
        await Promise.race([front.held, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    release: () => front?.release(),
    stop,
  };
}

/** smtp-sink on host:port, once it accepts connections; stopped at teardown. */
async function spawnSink(t: TapLike, binary: string, sink: SinkOptions, port: number): Promise<{ child: ChildProcess; log: LineLog; port: number }> {
  const listen = sink.host.includes(':') ? `[${sink.host}]:${port}` : `${sink.host}:${port}`;
  const args = [
    '-v',
    // As root it insists on a user to drop to.
    ...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []),
    '-h',
    sink.hostname ?? 'sink.test',
    ...(sink.options ?? []),
    listen,
    '16',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = new LineLog();
  child.stdout?.on('data', (chunk: Buffer) => log.add(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.add(chunk));
  t.teardown(() => stopChild(child));
  await waitUntilListening(sink.host, port, child, log, /smtp-sink: disconnect/);
  return { child, log, port };
}

/** One client connection through the front: the client's socket and the one to the sink. */
interface FrontSession {
  client: Socket;
  sink: Socket;
  /** What the client sent while the hold was on, for the sink once it is released. */
  waiting: Buffer[];
  /** The client's last line so far, when it has not ended yet. */
  partial: string;
  /** Between the sink's 354 and the end of the message: the client's lines are the message. */
  inMessage: boolean;
}

/**
 * The front of a held sink: pipes each client to the sink, reads the client's lines (commands, and the
 * final dot of each message) until the hold begins, then keeps what clients send until release().
 */
class HoldingFront {
  private server: Server | undefined;
  private readonly sessions = new Set<FrontSession>();
  private matched = 0;
  private holding = false;
  private released = false;
  readonly held: Promise<void>;
  private markHeld!: () => void;

  constructor(
    private readonly sink: { host: string; port: number },
    private readonly after: RegExp,
    private readonly count: number,
  ) {
    this.held = new Promise((resolve) => (this.markHeld = resolve));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.accept(client));
      server.once('error', reject);
      server.listen(port, host, () => {
        this.server = server;
        resolve();
      });
    });
  }

  release(): void {
    this.released = true;
    this.holding = false;
    for (const session of this.sessions) {
      for (const chunk of session.waiting.splice(0)) session.sink.write(chunk);
    }
  }

  async close(): Promise<void> {
    for (const session of this.sessions) {
      session.client.destroy();
      session.sink.destroy();
    }
    this.sessions.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const session: FrontSession = { client, sink: connect(this.sink), waiting: [], partial: '', inMessage: false };
    this.sessions.add(session);
    const { sink } = session;
    client.on('data', (chunk: Buffer) => this.fromClient(session, chunk));
    sink.on('data', (chunk: Buffer) => {
      // The client sends its message only after the sink's 354 (RFC 5321 4.1.1.4, RFC 2920 3.1).
      if (/(?:^|\n)354[ -]/.test(chunk.toString('latin1'))) session.inMessage = true;
      client.write(chunk);
    });
    // A client that goes away while held (killed, say) never sent the rest: the sink does not get it.
    client.on('end', () => (session.waiting.length > 0 ? sink.destroy() : sink.end()));
    sink.on('end', () => client.end());
    client.on('error', () => sink.destroy());
    sink.on('error', () => client.destroy());
    const forget = () => {
      if (client.destroyed && sink.destroyed) this.sessions.delete(session);
    };
    client.on('close', forget);
    sink.on('close', forget);
  }

  private fromClient(session: FrontSession, chunk: Buffer): void {
    if (this.holding) {
      session.waiting.push(chunk);
      return;
    }
    if (this.released) {
      session.sink.write(chunk);
      return;
    }
    // Lines are read in latin1, one character per byte, so offsets in the text are offsets in the chunk.
    const text = session.partial + chunk.toString('latin1');
    const carried = session.partial.length;
    let at = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', at)) {
      const line = text.slice(at, newline).replace(/\r$/, '');
      at = newline + 1;
      let counts = !session.inMessage;
      if (session.inMessage && line === '.') {
        session.inMessage = false;
        counts = true;
      }
      if (counts && this.after.test(line) && ++this.matched >= this.count) {
        // This line reaches the sink; from here on every client waits.
        session.sink.write(chunk.subarray(0, at - carried));
        const rest = chunk.subarray(at - carried);
        if (rest.length > 0) session.waiting.push(rest);
        session.partial = '';
        this.holding = true;
        this.markHeld();
        return;
      }
    }
    session.partial = text.slice(at);
    session.sink.write(chunk);
  }
}
