// The outbound queue as the scheduler tests see it: a real Store in a temporary directory, messages put
// in the queue the way SMTP does it (write the bytes, commit them through the scheduler's intake), a record of the queue's events with a way to wait for them, what is
// left in the store afterwards, and a rig that runs the QueueScheduler with the real delivery agent
// and a clock the test moves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applianceDefaults } from '../../src/config/index.js';
import { EventBus, type LetterboxEvents } from '../../src/core/events.js';
import type { DeliveryAgent, MailIntake, NewMessage } from '../../src/core/interfaces.js';
import type { QueueEntry } from '../../src/core/types.js';
import { createDeliveryAgent } from '../../src/delivery/index.js';
import { Intake } from '../../src/queue/intake.js';
import { QueueScheduler, type SchedulerSettings } from '../../src/queue/scheduler.js';
import { Store } from '../../src/store/index.js';
import { ALICE, DOMAIN, HOSTNAME } from './addresses.js';
import { ManualClock } from './clock.js';
import { capturedLog, deliveryDeps, deliverySettings } from './delivery.js';
import { envelopeMessage, type EnvelopeOptions } from './messages.js';
import { Changes } from './wait.js';

/** What the helpers need of a tap test. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

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
  await store.directory.addDomain(DOMAIN);
  await store.directory.addUser(ALICE, 'correct horse battery');
  return { store, location };
}

export interface QueueOptions extends EnvelopeOptions {
  /** Local users who get the message in their INBOX as well (a message with local and remote recipients). */
  mailboxes?: string[];
}

export interface Queued {
  queueId: string;
  messageId: string;
  bytes: Buffer;
}

let serial = 0;

/**
 * Stores a message and its queue entry in one commit, through a scheduler's intake as SMTP does (which
 * wakes that scheduler), or through a bare intake when none runs yet (its start reads the store).
 */
export async function queueMessage(store: Store, intake: MailIntake | undefined, options: QueueOptions): Promise<Queued> {
  const { sender, recipients, bytes } = envelopeMessage(options, `queue-${++serial}`);
  const writer = await store.createMessage();
  await writer.write(bytes);
  const message: NewMessage = {
    sender,
    recipients: [
      ...recipients.map((r) => ({ ...r, route: { local: [], remote: [r.address] } })),
      ...(options.mailboxes ?? []).map((user) => ({ address: user, route: { local: [user], remote: [] } })),
    ],
    ...(options.ret ? { ret: options.ret } : {}),
    ...(options.envid ? { envid: options.envid } : {}),
  };
  const result = await (intake ?? new Intake(store.directory, () => {})).commit(writer, message);
  if (!result.queueId) throw new Error('the commit made no queue entry');
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
  private readonly changes = new Changes();
  private readonly unsubscribe: (() => void)[];

  constructor(bus: EventBus) {
    const wake = () => this.changes.changed();
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
  until(check: () => boolean, what: string, limitMs = 60_000): Promise<void> {
    return this.changes.until(check, () => `gave up waiting for ${what}; events: ${JSON.stringify(this.states.slice(-20))}`, limitMs);
  }
}

/** The product's queue settings (first retry 5 min, doubling to 1 h, warning at 4 h, expiry at 5 days). */
export function defaultSchedulerSettings(extra: Partial<SchedulerSettings> = {}): SchedulerSettings {
  const { retryFirstSeconds, retryMaxSeconds, warnAfterSeconds, expireAfterSeconds, maxInFlight, maxInFlightPerDomain } = applianceDefaults().queue;
  return {
    hostname: HOSTNAME,
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
      deliveryDeps(this.log.log, { localDomains: [DOMAIN], now: () => this.clock.now() }).deps,
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

  /** Queues a message through the intake of the rig's latest scheduler (none yet: read at its start). */
  queue(options: QueueOptions): Promise<Queued> {
    return queueMessage(this.store, this.schedulers.at(-1)?.intake, options);
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
