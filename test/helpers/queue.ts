// What the queue tests share: the appliance wired to a loopback DNS server and remote MTAs with
// test-sized retry timers, a logged-in user who submits mail over 587, the far side's copy of each
// message (smtp-sink's dump files), and `letterbox queue list --json` polled until it shows what a test
// waits for.
import { mkdtempSync, mkdirSync, chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { ALICE, DOMAIN } from './addresses.js';
import { startAppliance, provision, passwordOf, type RunningAppliance } from './appliance.js';
import { startSmtpSink, type RunningSink, type SinkOptions, type TapLike } from './remote-mta.js';
import { waitUntil } from './wait.js';

// Kept for test/integration/delivery-hostile.test.ts, which imports them from here; the homes of these
// are addresses.ts, messages.ts, dsn.ts, mailbox.ts and ports.ts.
export { ALICE } from './addresses.js';
export { compose } from './messages.js';
export { deliveryStatus } from './dsn.js';
export { readInbox } from './mailbox.js';
export { portFreeOnAll as sharedPort } from './ports.js';

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

/** `letterbox relay set` with the password on standard input. */
export async function setRelay(app: RunningAppliance, relay: { host: string; port: number; user?: string; password?: string; tls?: string; mode?: string }): Promise<void> {
  const args = ['relay', 'set', '--host', relay.host, '--port', String(relay.port), '--tls', relay.tls ?? 'starttls', '--mode', relay.mode ?? 'fallback'];
  if (relay.user) args.push('--user', relay.user, '--password-stdin');
  const result = await app.cli(args, relay.password !== undefined ? `${relay.password}\n` : undefined);
  if (result.code !== 0) throw new Error(`relay set failed (${result.code}): ${result.stderr}`);
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
