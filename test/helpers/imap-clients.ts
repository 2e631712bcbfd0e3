// What the IMAP tests talk to servers with: a raw IMAP session that sends commands exactly as written
// (literals as given, byte for byte) and hands back the responses parsed by imap-response.ts, used to put
// messages into a server (APPEND) and to ask Letterbox and Dovecot the same questions; and the targets
// (Letterbox in the appliance, a throwaway Dovecot) that the real-client tests run against.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { Test } from 'tap';
import { ALICE, DOMAIN } from './addresses.js';
import { passwordOf, provision, startAppliance } from './appliance.js';
import { installCertificate } from './certificates.js';
import { startDovecot } from './dovecot.js';
import { missingPeer } from './peers.js';
import { skipOrFail } from './remote-mta.js';
import { splitResponses, type ImapResponse } from './imap-response.js';

export interface SessionAddress {
  host: string;
  port: number;
  /** Implicit TLS (993 style); the certificate is not checked (a test server's own). */
  tls?: boolean;
}

/** A command piece: text (latin1), or a literal sent as `{n}` (`~{n}` when `binary`) after the server's `+`. */
export type CommandPiece = string | { literal: Buffer; binary?: boolean };

export interface CommandResult {
  tagged: ImapResponse;
  untagged: ImapResponse[];
}

const COMMAND_LIMIT_MS = 30_000;

export class ImapSession {
  private buffer: Buffer = Buffer.alloc(0);
  private queue: ImapResponse[] = [];
  private wake: (() => void) | null = null;
  private closed: Error | null = null;
  private counter = 0;
  greeting!: ImapResponse;

  private constructor(private socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  static async open(address: SessionAddress, greetingLimitMs = COMMAND_LIMIT_MS): Promise<ImapSession> {
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const done = () => resolve(socket);
      const socket = address.tls
        ? connectTls({ host: address.host, port: address.port, rejectUnauthorized: false }, done)
        : connectTcp({ host: address.host, port: address.port }, done);
      socket.once('error', reject);
    });
    const session = new ImapSession(socket);
    try {
      session.greeting = await session.next(greetingLimitMs);
    } catch (err) {
      session.close();
      throw err;
    }
    return session;
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      const { responses, rest } = splitResponses(Buffer.concat([this.buffer, chunk]));
      this.buffer = rest;
      this.queue.push(...responses);
      this.wake?.();
    });
    socket.on('error', (err) => this.end(err));
    socket.on('close', () => this.end(new Error('connection closed by the server')));
  }

  private end(err: Error): void {
    this.closed ??= err;
    this.wake?.();
  }

  /** The next response from the server; rejects once the connection is closed and nothing is left. */
  async next(limitMs = COMMAND_LIMIT_MS): Promise<ImapResponse> {
    const deadline = Date.now() + limitMs;
    while (this.queue.length === 0) {
      if (this.closed) throw this.closed;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${limitMs / 1000} s (unparsed: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.resolveWake(resolve), left);
        this.wake = () => {
          clearTimeout(timer);
          this.resolveWake(resolve);
        };
      });
    }
    return this.queue.shift() as ImapResponse;
  }

  private resolveWake(resolve: () => void): void {
    this.wake = null;
    resolve();
  }

  /** Sends `tag <pieces>` and collects responses up to its tagged one; literals wait for `+` (synchronising). */
  async command(...pieces: CommandPiece[]): Promise<CommandResult> {
    const tag = `t${++this.counter}`;
    const untagged: ImapResponse[] = [];
    let line = `${tag} `;
    for (const piece of pieces) {
      if (typeof piece === 'string') {
        line += piece;
        continue;
      }
      this.socket.write(Buffer.from(`${line}${piece.binary ? '~' : ''}{${piece.literal.length}}\r\n`, 'latin1'));
      line = '';
      const answer = await this.untilContinuation(tag, untagged);
      if (answer) return answer;
      this.socket.write(piece.literal);
    }
    this.socket.write(Buffer.from(`${line}\r\n`, 'latin1'));
    for (;;) {
      const response = await this.next();
      if (response.tag === tag) return { tagged: response, untagged };
      untagged.push(response);
    }
  }

  /** Waits for `+`; a tagged answer instead (the server refused the literal) ends the command. */
  private async untilContinuation(tag: string, untagged: ImapResponse[]): Promise<CommandResult | null> {
    for (;;) {
      const response = await this.next();
      if (response.tag === '+') return null;
      if (response.tag === tag) return { tagged: response, untagged };
      untagged.push(response);
    }
  }

  /** A command that must succeed; throws with the server's answer otherwise. */
  async ok(...pieces: CommandPiece[]): Promise<CommandResult> {
    const result = await this.command(...pieces);
    if (result.tagged.status !== 'OK') {
      const sent = pieces.map((p) => (typeof p === 'string' ? p : `{${p.literal.length}}`)).join('');
      throw new Error(`${sent.slice(0, 120)}: ${result.tagged.raw.toString('latin1').trim()}`);
    }
    return result;
  }

  async login(user: string, password: string): Promise<void> {
    await this.ok(`LOGIN ${quote(user)} ${quote(password)}`);
  }

  /**
   * APPENDs `message` byte for byte to `folder` (a literal8 when it holds NUL, which a plain literal may
   * not carry: RFC 3516 4.3); returns the tagged answer (with APPENDUID when the server has UIDPLUS).
   */
  async append(folder: string, message: Buffer, flags: string[] = [], internalDate?: string): Promise<CommandResult> {
    const options = `${flags.length ? ` (${flags.join(' ')})` : ''}${internalDate ? ` ${quote(internalDate)}` : ''}`;
    return this.ok(`APPEND ${quote(folder)}${options} `, { literal: message, binary: message.includes(0) });
  }

  /** STARTTLS, then TLS over the same connection (the certificate is not checked). */
  async startTls(): Promise<void> {
    await this.ok('STARTTLS');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = connectTls({ socket: plain, rejectUnauthorized: false }, () => resolve(secure));
      secure.once('error', reject);
    });
    this.listen(this.socket);
  }

  async logout(): Promise<void> {
    if (!this.closed) {
      try {
        await this.command('LOGOUT');
      } catch {
        // closed meanwhile: logged out all the same
      }
    }
    this.close();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A quoted string (RFC 3501 4.3) for text without CR, LF or NUL. */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Where and as whom a test logs in to an IMAP server. */
export interface ImapAccountAddress {
  host: string;
  port: number;
  tls?: boolean;
  user: string;
  password: string;
}

/** Logs in, APPENDs `message` byte for byte to `folder`, logs out; returns the tagged answer's code text. */
export async function putMessage(account: ImapAccountAddress, folder: string, message: Buffer, flags: string[] = []): Promise<string> {
  const session = await ImapSession.open(account);
  try {
    await session.login(account.user, account.password);
    const { tagged } = await session.append(folder, message, flags);
    return tagged.code ? `${tagged.code.name} ${tagged.code.text}` : '';
  } finally {
    await session.logout();
  }
}

/** A server the real-client tests run against, with one user whose mailbox is empty. */
export interface ImapTarget {
  name: TargetName;
  /** 127.0.0.1: where it listens. */
  host: string;
  /** `localhost`, the name in its certificate: clients that match the name (mbsync) connect to this. */
  tlsHost: string;
  ports: { imap: number; imaps: number };
  user: string;
  password: string;
  /** Its self-signed certificate (PEM file), for clients to trust it directly. */
  certificateFile: string;
}

export type TargetName = 'letterbox' | 'dovecot';

/** Letterbox always; Dovecot too, which proves the client scripts (LETTERBOX_IMAP_TARGETS=letterbox,dovecot chooses). */
export function targetNames(): TargetName[] {
  const chosen = (process.env.LETTERBOX_IMAP_TARGETS ?? 'letterbox,dovecot').split(',').map((name) => name.trim());
  return (['letterbox', 'dovecot'] as const).filter((name) => chosen.includes(name));
}

/** A self-signed certificate for localhost and 127.0.0.1, as Debian's openssl makes it. */
function selfSigned(dir: string): { cert: string; key: string; file: string } {
  const file = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', file,
  ], { stdio: 'ignore' });
  return { cert: readFileSync(file, 'utf8'), key: readFileSync(keyFile, 'utf8'), file };
}

/** Why a Letterbox half is skipped (or fails, under LETTERBOX_REQUIRE_PEERS=1). */
export const LETTERBOX_NOT_SERVING = 'the appliance serves no IMAP (no greeting on its imap port)';

/** Whether an IMAP server greets on 127.0.0.1:port (the appliance may have the port and no server yet). */
export async function greets(port: number): Promise<boolean> {
  try {
    const session = await ImapSession.open({ host: '127.0.0.1', port }, 5_000);
    session.close();
    return session.greeting.status === 'OK' || session.greeting.status === 'PREAUTH';
  } catch {
    return false;
  }
}

/**
 * Starts the appliance with a certificate for localhost and provisions alice; null after skipping when
 * it serves no IMAP (failing instead under LETTERBOX_REQUIRE_PEERS=1, as in CI).
 */
async function startLetterbox(t: Test): Promise<ImapTarget | null> {
  const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-imap-clients-'));
  const certDir = mkdtempSync(join(tmpdir(), 'letterbox-imap-cert-'));
  t.teardown(() => rmSync(certDir, { recursive: true, force: true }));
  const certificate = selfSigned(certDir);
  installCertificate(dataDir, [certificate.cert], certificate.key);
  const app = await startAppliance({ dataDir });
  t.teardown(async () => {
    await app.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const ports = app.ports as Record<string, number | undefined>;
  if (!ports.imap || !ports.imaps || !(await greets(ports.imap))) {
    missingPeer(skipOrFail(t), LETTERBOX_NOT_SERVING);
    return null;
  }
  await provision(app, [DOMAIN], [ALICE]);
  return { name: 'letterbox', host: '127.0.0.1', tlsHost: 'localhost', ports: { imap: ports.imap, imaps: ports.imaps }, user: ALICE, password: passwordOf(ALICE), certificateFile: certificate.file };
}

async function startDovecotTarget(t: Test): Promise<ImapTarget | null> {
  const dovecot = await startDovecot(t, { users: { [ALICE]: passwordOf(ALICE) } });
  if (!dovecot) return null;
  return { name: 'dovecot', host: dovecot.host, tlsHost: 'localhost', ports: { imap: dovecot.ports.imap, imaps: dovecot.ports.imaps }, user: ALICE, password: passwordOf(ALICE), certificateFile: dovecot.certificateFile };
}

/** Runs `body` as one subtest per target, each on a fresh server started for it (and stopped after it). */
export function eachTarget(t: Test, body: (t: Test, target: ImapTarget) => Promise<void>): void {
  for (const name of targetNames()) {
    t.test(name, async (t) => {
      const target = name === 'letterbox' ? await startLetterbox(t) : await startDovecotTarget(t);
      if (target) await body(t, target);
    });
  }
}

/** The account of a target on its plain or TLS port. */
export function accountOf(target: ImapTarget, tls = false): ImapAccountAddress {
  return { host: target.host, port: tls ? target.ports.imaps : target.ports.imap, tls, user: target.user, password: target.password };
}
