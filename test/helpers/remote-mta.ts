// Remote MTAs for delivery tests, on 127.0.0.x. Postfix's smtp-sink gives scripted answers (refuse RCPT,
// DATA or the final dot with 4xx/5xx, hang up with 421) and, run with -v, prints every session's commands,
// which is how tests count connections and see the exact MAIL/RCPT parameters. A full Postfix instance
// (per-recipient refusals, TLS, the AUTH smarthost) is in postfix.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { connect } from 'node:net';
import { stopChild } from './dnsmasq.js';
import { needPeer } from './peers.js';

/** What the helpers need of a tap test: cleanup, and a way to skip when a peer is missing. */
export interface TapLike {
  teardown(fn: () => unknown): void;
  skip(name: string, fn: () => void): unknown;
  fail(message: string): unknown;
}

/** needPeer (peers.ts) with a tap test: a missing tool skips (or, in CI, fails) the current test. */
export function needTool(t: TapLike, command: string, debianPackage: string): string | null {
  return needPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, command, debianPackage);
}

/** Lines a child process printed, with waiting for a line to show up. */
export class LineLog {
  readonly lines: string[] = [];
  private partial = '';
  private waiters: (() => void)[] = [];

  add(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    for (const wake of this.waiters.splice(0)) wake();
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

  /** Resolves once `count` lines match; rejects after `timeoutMs` with the log for the test output. */
  async waitFor(pattern: RegExp, count = 1, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.count(pattern) < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${count} lines matching ${pattern} in:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Polls until something accepts TCP connections on host:port (or the child dies). */
export async function waitUntilListening(host: string, port: number, child: ChildProcess, log: LineLog): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log.lines.join('\n')}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
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
  const listen = sink.host.includes(':') ? `[${sink.host}]:${sink.port}` : `${sink.host}:${sink.port}`;
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
  const stop = () => stopChild(child);
  t.teardown(stop);
  await waitUntilListening(sink.host, sink.port, child, log);
  // The readiness probe was a session too; count from the one after it.
  await log.waitFor(/smtp-sink: disconnect/);
  const baseline = log.count(/smtp-sink: connect \(/);
  return {
    host: sink.host,
    port: sink.port,
    log,
    sessions: () => parseSessions(log.lines, baseline),
    ended: async (count) => {
      await log.waitFor(/smtp-sink: disconnect/, baseline + count);
      return parseSessions(log.lines, baseline);
    },
    stop,
  };
}
