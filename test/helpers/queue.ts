// What the queue tests share: the appliance wired to a loopback DNS server and remote MTAs with
// test-sized retry timers, a logged-in user who submits mail over 587, the far side's copy of each
// message (smtp-sink's dump files), `letterbox queue list --json` polled until it shows what a test
// waits for, and the DSNs in a local INBOX as a mail client would parse them.
import { mkdtempSync, mkdirSync, chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startAppliance, provision, passwordOf, type RunningAppliance } from './appliance.js';
import { readMailbox, withStore } from './mailbox.js';
import { freePort } from './ports.js';
import { startSmtpSink, type RunningSink, type SinkOptions, type TapLike } from './remote-mta.js';

export const DOMAIN = 'letterbox.test';
export const ALICE = `alice@${DOMAIN}`;
export const BOB = `bob@${DOMAIN}`;

export interface QueueSettings {
  retryFirstSeconds: number;
  retryMaxSeconds: number;
  warnAfterSeconds: number;
  expireAfterSeconds: number;
  maxInFlight: number;
  maxInFlightPerDomain: number;
  connectTimeoutSeconds: number;
  commandTimeoutSeconds: number;
}

export const TEST_QUEUE: QueueSettings = {
  retryFirstSeconds: 1,
  retryMaxSeconds: 2,
  warnAfterSeconds: 3600,
  expireAfterSeconds: 7200,
  maxInFlight: 20,
  maxInFlightPerDomain: 4,
  connectTimeoutSeconds: 2,
  commandTimeoutSeconds: 5,
};

export interface QueueApplianceOptions {
  /** dnsmasq's "127.0.0.1:port". */
  dnsServer: string;
  /** The port every remote MTA of the test listens on. */
  mxPort: number;
  queue?: Partial<QueueSettings>;
  /** PEM written to <dataDir>/tls/relay-ca.pem before the start: the smarthost's certificate. */
  relayCa?: string;
  users?: string[];
}

/** The appliance with `letterbox.test` and its users provisioned; stopped and removed at teardown. */
export async function startQueueAppliance(t: TapLike, options: QueueApplianceOptions): Promise<RunningAppliance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-queue-'));
  const running: { app?: RunningAppliance } = {};
  t.teardown(async () => {
    await running.app?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  if (options.relayCa) {
    mkdirSync(join(dataDir, 'tls'), { recursive: true });
    writeFileSync(join(dataDir, 'tls', 'relay-ca.pem'), options.relayCa);
  }
  const app = await startAppliance({
    dataDir,
    config: {
      dns: { servers: [options.dnsServer] },
      delivery: { mxPort: options.mxPort },
      queue: { ...TEST_QUEUE, ...options.queue },
    },
  });
  running.app = app;
  await provision(app, [DOMAIN], options.users ?? [ALICE]);
  return app;
}

/** A port that is free on every one of `hosts`, so all remote MTAs of a test can share it. */
export async function sharedPort(hosts: string[]): Promise<number> {
  for (;;) {
    const port = await freePort(hosts[0]);
    const free = await Promise.all(hosts.slice(1).map((host) => canListen(host, port)));
    if (free.every(Boolean)) return port;
  }
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A message in CRLF lines with every header a submission server would otherwise add but Received. */
export function compose(options: { from?: string; to: string[]; subject: string; body?: string }): string {
  const from = options.from ?? ALICE;
  const id = options.subject.replace(/[^A-Za-z0-9.-]/g, '-');
  return [
    `From: Alice <${from}>`,
    `To: ${options.to.map((r) => `<${r}>`).join(', ')}`,
    `Subject: ${options.subject}`,
    `Message-ID: <${id}.${process.pid}@letterbox.test>`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `Hello, this is ${options.subject}.`,
    ...(options.body ? [options.body] : []),
    '',
  ].join('\r\n');
}

/** Submits messages as a logged-in user over 587 with STARTTLS, on one connection. */
export async function submit(app: RunningAppliance, messages: { from?: string; to: string[]; raw: string }[], user = ALICE): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: app.ports.submission,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass: passwordOf(user) },
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
  });
  try {
    for (const message of messages) {
      const info = await transport.sendMail({ envelope: { from: message.from ?? user, to: message.to }, raw: message.raw });
      if (info.rejected.length > 0) throw new Error(`refused: ${info.rejected.join(', ')}`);
    }
  } finally {
    transport.close();
  }
}

export interface QueueRecipientJson {
  address: string;
  state: 'queued' | 'inflight' | 'deferred' | 'delivered' | 'bounced';
  attempts: number;
  nextAttemptAt?: number;
  updatedAt?: number;
  lastError?: string;
}

export interface QueueEntryJson {
  id: string;
  messageId: string;
  sender: string;
  size: number;
  createdAt: number;
  nextAttemptAt: number;
  attempts: number;
  lastError?: string;
  recipients: QueueRecipientJson[];
}

/** `letterbox queue list --json`, parsed. */
export async function queueEntries(app: RunningAppliance): Promise<QueueEntryJson[]> {
  const result = await app.cli(['queue', 'list', '--json']);
  if (result.code !== 0) throw new Error(`queue list failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as QueueEntryJson[];
}

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until `queue list --json` satisfies `accept`; returns that listing. */
export function waitForQueue(app: RunningAppliance, what: string, accept: (entries: QueueEntryJson[]) => boolean, timeoutMs = 30_000): Promise<QueueEntryJson[]> {
  return waitUntil(what, async () => {
    const entries = await queueEntries(app);
    return accept(entries) ? entries : undefined;
  }, timeoutMs, 200);
}

export function waitForEmptyQueue(app: RunningAppliance, timeoutMs = 30_000): Promise<QueueEntryJson[]> {
  return waitForQueue(app, 'an empty queue', (entries) => entries.length === 0, timeoutMs);
}

/** Log lines of the appliance whose message matches. */
export function logged(app: RunningAppliance, msg: RegExp | string): Record<string, unknown>[] {
  return app.logs.filter((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(String(line.msg))));
}

export function waitForLog(app: RunningAppliance, msg: RegExp | string, count = 1, timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
  return waitUntil(`${count} log line(s) ${String(msg)}`, () => {
    const lines = logged(app, msg);
    return lines.length >= count ? lines : undefined;
  }, timeoutMs);
}

/** `letterbox relay set` with the password on standard input. */
export async function setRelay(app: RunningAppliance, relay: { host: string; port: number; user?: string; password?: string; tls?: string; mode?: string }): Promise<void> {
  const args = ['relay', 'set', '--host', relay.host, '--port', String(relay.port), '--tls', relay.tls ?? 'starttls', '--mode', relay.mode ?? 'fallback'];
  if (relay.user) args.push('--user', relay.user, '--password-stdin');
  const result = await app.cli(args, relay.password !== undefined ? `${relay.password}\n` : undefined);
  if (result.code !== 0) throw new Error(`relay set failed (${result.code}): ${result.stderr}`);
}

export interface InboxMail {
  bytes: Buffer;
  parsed: ParsedMail;
}

/** Stops the appliance (LevelDB admits one process) and reads `user`'s INBOX as a mail client would. */
export async function readInbox(app: RunningAppliance, user: string): Promise<InboxMail[]> {
  const code = await app.stop();
  if (code !== 0) throw new Error(`the appliance stopped with ${code}`);
  const mails = await withStore(app.dataDir, (store) => readMailbox(store, user));
  return Promise.all(mails.map(async (mail) => ({ bytes: mail.bytes, parsed: await simpleParser(mail.bytes) })));
}

export interface DeliveryStatus {
  /** The per-message fields (Reporting-MTA, Arrival-Date ...), names in lower case. */
  message: Record<string, string>;
  /** One group of fields per recipient (Final-Recipient, Action, Status, Diagnostic-Code ...). */
  recipients: Record<string, string>[];
}

/**
 * The RFC 3464 message/delivery-status part of a DSN, or undefined when there is none. mailparser
 * shows that part inline with the text (as many clients do), so it is taken from the MIME structure.
 */
export function deliveryStatus(mail: InboxMail): DeliveryStatus | undefined {
  const boundary = reportType(mail.parsed).boundary;
  if (!boundary) return undefined;
  const parts = mail.bytes.toString('latin1').split(`\r\n--${boundary}`);
  const part = parts.find((p) => /^\r\n(?:[^\r\n]+\r\n)*Content-Type: message\/delivery-status\r\n/i.test(p));
  if (!part) return undefined;
  const body = part.slice(part.indexOf('\r\n\r\n') + 4);
  const groups = body
    .replace(/\r\n/g, '\n')
    .replace(/\n[ \t]+/g, ' ') // unfold
    .split(/\n\n+/)
    .filter((group) => group.trim())
    .map((group) => {
      const fields: Record<string, string> = {};
      for (const line of group.split('\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      return fields;
    });
  return { message: groups[0] ?? {}, recipients: groups.slice(1) };
}

/** The report-type parameter of a multipart/report, as a client sees it. */
export function reportType(mail: ParsedMail): { type: string; reportType: string | undefined; boundary?: string } {
  const header = mail.headers.get('content-type') as { value: string; params: Record<string, string> } | undefined;
  return { type: header?.value ?? '', reportType: header?.params['report-type'], ...(header?.params.boundary ? { boundary: header.params.boundary } : {}) };
}

/** The human-readable text with line breaks and indentation made single spaces. */
export function flatText(mail: ParsedMail): string {
  return (mail.text ?? '').replace(/\s+/g, ' ');
}

export interface SunkMail {
  mailFrom: string;
  recipients: string[];
  /** The message as the far side stored it (LF line ends), its own Received line included. */
  message: string;
  subject: string;
}

export interface DumpSink extends RunningSink {
  /** Every message the sink accepted (a file is written only when the final dot was answered). */
  mails(): SunkMail[];
}

/** smtp-sink that keeps each accepted message in a file (its -d option), to check what arrived. */
export async function startDumpSink(t: TapLike, options: SinkOptions): Promise<DumpSink | null> {
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-sink-'));
  // smtp-sink drops to `nobody` when run as root, and writes its files as that user.
  chmodSync(dir, 0o777);
  const sink = await startSmtpSink(t, { ...options, options: [...(options.options ?? []), '-d', `${dir}/m.`] }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  if (!sink) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  // After the sink's own teardown (registered first): it has stopped writing by then.
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return Object.assign(sink, { mails: () => readDumps(dir) });
}

function readDumps(dir: string): SunkMail[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('m.'))
    .map((name) => parseDump(readFileSync(join(dir, name), 'latin1')));
}

// smtp-sink's dump: X-Client-Addr, X-Client-Proto, X-Helo-Args, X-Mail-Args, one X-Rcpt-Args per
// recipient, then the message with LF line ends, then a blank line of its own.
function parseDump(text: string): SunkMail {
  const lines = text.split('\n');
  let at = 0;
  let mailFrom = '';
  const recipients: string[] = [];
  for (; at < lines.length; at++) {
    const match = /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): ?(.*)$/.exec(lines[at] as string);
    if (!match) break;
    if (match[1] === 'Mail-Args') mailFrom = /^<([^>]*)>/.exec(match[2] as string)?.[1] ?? '';
    if (match[1] === 'Rcpt-Args') recipients.push(/^<([^>]*)>/.exec(match[2] as string)?.[1] ?? '');
  }
  const message = lines.slice(at).join('\n').replace(/\n\n$/, '\n');
  const subject = /^Subject: (.*)$/m.exec(message)?.[1]?.trim() ?? '';
  return { mailFrom, recipients, message, subject };
}

/** The message without the Received headers on top: what the sender wrote. */
export function withoutReceived(message: string): string {
  return message.replace(/^(?:Received:[^\n]*\n(?:[ \t][^\n]*\n)*)+/, '');
}

/**
 * A switchable front for a server: while open, connections to host:port are piped to the target;
 * while shut, nothing listens there and connections are refused, as when the server is down.
 */
export interface Gate {
  open(): Promise<void>;
  shut(): Promise<void>;
}

export function gate(t: TapLike, host: string, port: number, target: { host: string; port: number }): Gate {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const shut = async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    const closing = server;
    server = undefined;
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  t.teardown(shut);
  return {
    shut,
    open: () =>
      new Promise<void>((resolve, reject) => {
        const front = createServer((client) => {
          const back = connect(target);
          for (const s of [client, back]) {
            sockets.add(s);
            s.on('error', () => {
              client.destroy();
              back.destroy();
            });
            s.on('close', () => sockets.delete(s));
          }
          client.pipe(back);
          back.pipe(client);
        });
        front.once('error', reject);
        front.listen(port, host, () => {
          server = front;
          resolve();
        });
      }),
  };
}
