// The outbound queue as the scheduler tests see it: a real Store in a temporary directory, messages put
// in the queue the way SMTP does it (write the bytes, commit with a `queue` disposition, then announce
// `message.queued` on the bus), a record of the queue's events with a way to wait for them, what is
// left in the store afterwards, and a rig that runs the QueueScheduler with the real delivery agent
// and a clock the test moves.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { applianceDefaults } from '../../src/config/index.js';
import { simpleParser } from 'mailparser';
import { EventBus, type LetterboxEvents } from '../../src/core/events.js';
import type { DeliveryAgent, Disposition } from '../../src/core/interfaces.js';
import type { QueueEntry, RecipientDsn } from '../../src/core/types.js';
import { createDeliveryAgent } from '../../src/delivery/index.js';
import { QueueScheduler, type SchedulerSettings } from '../../src/queue/scheduler.js';
import { Store } from '../../src/store/index.js';
import { ManualClock } from './clock.js';
import { freePort } from './ports.js';
import { capturedLog, deliveryDeps, deliverySettings } from './delivery.js';

/** What the helpers need of a tap test. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export const LOCAL_DOMAIN = 'letterbox.test';
export const ALICE = 'alice@letterbox.test';

/**
 * A store in a fresh temporary directory with the local domain and its user alice. At teardown
 * `beforeClose` runs (stop what uses the store), then the store is closed and the directory removed.
 */
export async function openQueueStore(t: Teardown, beforeClose?: () => Promise<void>): Promise<{ store: Store; location: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-queue-'));
  const location = path.join(dir, 'store');
  const store = await Store.open(location);
  t.teardown(async () => {
    await beforeClose?.();
    await store.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await store.directory.addDomain(LOCAL_DOMAIN);
  await store.directory.addUser(ALICE, 'correct horse battery');
  return { store, location };
}

export interface QueueOptions {
  /** Envelope sender; '' is `<>`. Default alice. */
  sender?: string;
  recipients: (string | { address: string; dsn?: RecipientDsn })[];
  /** Local users who get the message in their INBOX as well (a message with local and remote recipients). */
  mailboxes?: string[];
  subject?: string;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

export interface Queued {
  queueId: string;
  messageId: string;
  bytes: Buffer;
}

let serial = 0;

/** Stores a message and its queue entry in one commit, as SMTP does, then tells the bus. */
export async function queueMessage(store: Store, bus: EventBus, options: QueueOptions): Promise<Queued> {
  const sender = options.sender ?? ALICE;
  const recipients = options.recipients.map((r) => (typeof r === 'string' ? { address: r } : r));
  const n = ++serial;
  const bytes = Buffer.from(
    [
      `From: <${sender || `mailer-daemon@${LOCAL_DOMAIN}`}>`,
      `To: ${recipients.map((r) => `<${r.address}>`).join(', ')}`,
      `Subject: ${options.subject ?? `queue test ${n}`}`,
      `Message-ID: <queue-${n}.${process.pid}@${LOCAL_DOMAIN}>`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0000',
      '',
      `Body of queue test message ${n}.`,
      '',
    ].join('\r\n'),
  );
  const writer = await store.createMessage();
  await writer.write(bytes);
  const disposition: Disposition = {
    mailboxes: options.mailboxes ?? [],
    queue: { sender, recipients, ...(options.ret ? { ret: options.ret } : {}), ...(options.envid ? { envid: options.envid } : {}) },
  };
  const result = await writer.commit(disposition);
  if (!result.queueId) throw new Error('the commit made no queue entry');
  bus.emit('message.queued', { queueId: result.queueId, messageId: result.messageId, recipients: recipients.map((r) => r.address) });
  return { queueId: result.queueId, messageId: result.messageId, bytes };
}

/** How many queue entries, message records and body chunks the store holds. */
export async function storeCounts(store: Store): Promise<{ queue: number; messages: number; bodies: number }> {
  return {
    queue: (await store.sub.queue.keys().all()).length,
    messages: (await store.sub.messages.keys().all()).length,
    bodies: (await store.sub.bodies.keys().all()).length,
  };
}

type StateEvent = LetterboxEvents['recipient.state'];
type DepthEvent = LetterboxEvents['queue.depth'];
type QueuedEvent = LetterboxEvents['message.queued'];

const SETTLED = new Set(['delivered', 'deferred', 'bounced']);

/** Every queue event on the bus since it was made, and a way to wait for more. */
export class QueueEvents {
  readonly states: StateEvent[] = [];
  readonly depths: DepthEvent[] = [];
  readonly queued: QueuedEvent[] = [];
  private waiters: (() => void)[] = [];
  private readonly unsubscribe: (() => void)[];

  constructor(bus: EventBus) {
    const wake = () => {
      for (const waiter of this.waiters.splice(0)) waiter();
    };
    this.unsubscribe = [
      bus.on('recipient.state', (event) => void (this.states.push(event), wake())),
      bus.on('queue.depth', (event) => void (this.depths.push(event), wake())),
      bus.on('message.queued', (event) => void (this.queued.push(event), wake())),
    ];
  }

  close(): void {
    for (const off of this.unsubscribe) off();
  }

  /** State events from index `from` on, optionally of one queue entry. */
  statesSince(from: number, queueId?: string): StateEvent[] {
    return this.states.slice(from).filter((e) => !queueId || e.queueId === queueId);
  }

  /** Attempts started (recipients gone in flight) from index `from` on. */
  launchedSince(from: number, queueId?: string): StateEvent[] {
    return this.statesSince(from, queueId).filter((e) => e.state === 'inflight');
  }

  /** Results recorded (delivered, deferred, bounced) from index `from` on. */
  settledSince(from: number, queueId?: string): StateEvent[] {
    return this.statesSince(from, queueId).filter((e) => SETTLED.has(e.state));
  }

  /** Waits until `count` results were recorded from index `from` on; returns them. */
  async settled(from: number, count: number, queueId?: string): Promise<StateEvent[]> {
    await this.until(() => this.settledSince(from, queueId).length >= count, `${count} results${queueId ? ` for ${queueId}` : ''}`);
    return this.settledSince(from, queueId);
  }

  /**
   * Resolves once `check()` holds, looking again after every event. The limit is only there so that a
   * broken scheduler fails the test with the events so far instead of hanging it; nothing is timed.
   */
  async until(check: () => boolean, what: string, limitMs = 60_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`gave up waiting for ${what}; events: ${JSON.stringify(this.states.slice(-20))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** The product's queue settings (first retry 5 min, doubling to 1 h, warning at 4 h, expiry at 5 days). */
export function defaultSchedulerSettings(extra: Partial<SchedulerSettings> = {}): SchedulerSettings {
  const { retryFirstSeconds, retryMaxSeconds, warnAfterSeconds, expireAfterSeconds, maxInFlight, maxInFlightPerDomain } = applianceDefaults().queue;
  return {
    hostname: 'mx.letterbox.test',
    retryFirstSeconds,
    retryMaxSeconds,
    warnAfterSeconds,
    expireAfterSeconds,
    maxInFlight,
    maxInFlightPerDomain,
    ...extra,
  };
}

export interface QueueRigOptions {
  /** dnsmasq's "127.0.0.1:port". */
  dnsServer: string;
  /** The port every MX listens on. */
  mxPort: number;
  settings?: Partial<SchedulerSettings>;
}

/**
 * The queue as main.ts wires it, in process: a real store, the real delivery agent (talking to dnsmasq
 * and smtp-sink on loopback), a real bus, and a ManualClock. Schedulers made here are stopped, and the
 * store closed, at teardown.
 */
export class QueueRig {
  readonly bus = new EventBus((err) => {
    throw err;
  });
  readonly clock = new ManualClock();
  readonly events = new QueueEvents(this.bus);
  readonly log = capturedLog();
  readonly agent: DeliveryAgent;
  private readonly schedulers: QueueScheduler[] = [];

  constructor(
    readonly store: Store,
    readonly location: string,
    private readonly options: QueueRigOptions,
  ) {
    this.agent = createDeliveryAgent(
      deliverySettings(options.dnsServer, options.mxPort),
      deliveryDeps(this.log.log, { localDomains: [LOCAL_DOMAIN], now: () => this.clock.now() }).deps,
    );
  }

  /** A new scheduler on the rig's store, started (it rebuilds its schedule from the store). */
  async startScheduler(settings: Partial<SchedulerSettings> = {}): Promise<QueueScheduler> {
    const scheduler = new QueueScheduler(defaultSchedulerSettings({ ...this.options.settings, ...settings }), {
      queue: this.store,
      mail: this.store,
      directory: this.store.directory,
      agent: this.agent,
      bus: this.bus,
      log: this.log.log,
      clock: this.clock,
    });
    this.schedulers.push(scheduler);
    await scheduler.start();
    return scheduler;
  }

  queue(options: QueueOptions): Promise<Queued> {
    return queueMessage(this.store, this.bus, options);
  }

  /** The scheduler's live copy of an entry. */
  async live(scheduler: QueueScheduler, queueId: string): Promise<QueueEntry | undefined> {
    return (await scheduler.listQueue()).find((e) => e.id === queueId);
  }

  async close(): Promise<void> {
    for (const scheduler of this.schedulers) await scheduler.stop(30_000);
    this.events.close();
  }
}

export async function startQueueRig(t: Teardown, options: QueueRigOptions): Promise<QueueRig> {
  const made: QueueRig[] = [];
  const { store, location } = await openQueueStore(t, async () => {
    for (const rig of made) await rig.close();
  });
  const rig = new QueueRig(store, location, options);
  made.push(rig);
  return rig;
}

/** A DSN as a mail client and a DSN parser read it. */
export interface Report {
  /** The top-level type, e.g. `multipart/report`. */
  contentType: string;
  reportType: string | undefined;
  subject: string;
  /** The message/delivery-status fields: the per-message group first, then one group per recipient. */
  groups: Map<string, string>[];
  /** The text of the returned original (text/rfc822-headers or message/rfc822). */
  returned: string;
}

export async function parseReport(raw: Buffer): Promise<Report> {
  const mail = await simpleParser(raw, { keepDeliveryStatus: true });
  const type = mail.headers.get('content-type') as { value: string; params: Record<string, string> } | undefined;
  const status = mail.attachments.find((a) => a.contentType === 'message/delivery-status');
  const original = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822');
  const groups = (status?.content.toString('latin1') ?? '')
    .split(/\r?\n\r?\n/)
    .filter((group) => group.trim())
    .map((group) => {
      const fields = new Map<string, string>();
      for (const line of group.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      return fields;
    });
  return {
    contentType: type?.value ?? '',
    reportType: type?.params['report-type'],
    subject: mail.subject ?? '',
    groups,
    returned: original?.content.toString('utf8') ?? '',
  };
}

/** A port that is free on every one of `hosts` (MXs of different domains listen on one port number). */
export async function portFreeOnAll(hosts: string[]): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await freePort(hosts[0]);
    const others = await Promise.all(hosts.slice(1).map((host) => canListen(host, port)));
    if (others.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
