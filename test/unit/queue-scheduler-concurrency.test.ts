// The scheduler under concurrency, with a real store and a delivery agent whose answers the test gives
// by hand, so that attempts overlap exactly as the test says: several domains of one entry in flight at
// once, results arriving together, a store write that fails, stop() while attempts run, limits.
import t from 'tap';
import type { DeliveryAgent, MailIntake, MailStore, MessageWriter, OutboundMessage, QueueStore } from '../../src/core/interfaces.js';
import type { DeliveryOutcome } from '../../src/core/types.js';
import { EventBus } from '../../src/core/events.js';
import { QueueScheduler, type SchedulerSettings } from '../../src/queue/scheduler.js';
import type { Store } from '../../src/store/index.js';
import { ManualClock } from '../helpers/clock.js';
import { capturedLog } from '../helpers/delivery.js';
import { readMailbox } from '../helpers/mailbox.js';
import { ALICE } from '../helpers/addresses.js';
import { openQueueStore, QueueEvents, queueMessage, storeCounts, type Teardown } from '../helpers/queue-store.js';
import { Changes } from '../helpers/wait.js';

const MINUTE = 60_000;

type Status = DeliveryOutcome['status'];

interface Call {
  domain: string;
  messages: OutboundMessage[];
  answer(status: Status | ((address: string) => Status)): void;
  answered: boolean;
  /** The scheduler interrupted it (an administrator's operation, a stop): it ended as a real agent's would. */
  aborted: boolean;
}

/** A delivery agent that waits for the test to answer each call. */
class ScriptedAgent implements DeliveryAgent {
  readonly outboundBlocked = false;
  readonly calls: Call[] = [];
  private readonly changes = new Changes();

  deliver(domain: string, messages: OutboundMessage[], _onDelivered?: unknown, signal?: AbortSignal): Promise<Map<string, DeliveryOutcome[]>> {
    return new Promise((resolve) => {
      const call: Call = {
        domain,
        messages,
        answered: false,
        aborted: false,
        answer: (status) => {
          if (call.answered) return;
          call.answered = true;
          const statusOf = typeof status === 'function' ? status : () => status;
          resolve(new Map(messages.map((m) => [m.queueId, m.recipients.map((r) => outcome(r.address, statusOf(r.address)))])));
        },
      };
      signal?.addEventListener('abort', () => {
        call.aborted = !call.answered;
        call.answer('deferred');
      });
      this.calls.push(call);
      this.changes.changed();
    });
  }

  open(): Call[] {
    return this.calls.filter((c) => !c.answered);
  }

  /** Waits for the `count`-th call; the limit only turns a hang into a failure with a message. */
  async waitForCalls(count: number, limitMs = 30_000): Promise<Call[]> {
    await this.changes.until(() => this.calls.length >= count, () => `the agent got ${this.calls.length} calls, not ${count}`, limitMs);
    return this.calls;
  }
}

function outcome(address: string, status: Status): DeliveryOutcome {
  const reply = { delivered: '250 2.0.0 Ok: queued', deferred: '451 4.3.0 Try again later', bounced: '550 5.1.1 No such user' }[status];
  return { address, status, reply, enhancedCode: reply.slice(4, 9), remoteMta: 'mx.remote.test', via: 'mx' };
}

function settings(extra: Partial<SchedulerSettings> = {}): SchedulerSettings {
  return {
    hostname: 'mx.letterbox.test',
    retryFirstSeconds: 300,
    retryMaxSeconds: 3600,
    warnAfterSeconds: 4 * 3600,
    expireAfterSeconds: 5 * 24 * 3600,
    maxInFlight: 20,
    maxInFlightPerDomain: 4,
    ...extra,
  };
}

interface Rig {
  store: Store;
  bus: EventBus;
  clock: ManualClock;
  agent: ScriptedAgent;
  events: QueueEvents;
  log: ReturnType<typeof capturedLog>;
  scheduler(options?: { settings?: Partial<SchedulerSettings>; queue?: QueueStore; mail?: MailStore }): Promise<QueueScheduler>;
  /** The latest scheduler's intake (undefined before the first starts). */
  intake(): MailIntake | undefined;
}

async function rig(tt: Teardown): Promise<Rig> {
  const { store } = await openQueueStore(tt);
  const bus = new EventBus((err) => {
    throw err;
  });
  const clock = new ManualClock();
  const agent = new ScriptedAgent();
  const events = new QueueEvents(bus);
  const log = capturedLog();
  const schedulers: QueueScheduler[] = [];
  tt.teardown(async () => {
    for (const call of agent.open()) call.answer('deferred');
    for (const s of schedulers) await s.stop(10_000);
    events.close();
  });
  return {
    store,
    bus,
    intake: () => schedulers.at(-1)?.intake,
    clock,
    agent,
    events,
    log,
    async scheduler(options = {}) {
      const s = new QueueScheduler(settings(options.settings), {
        queue: options.queue ?? store,
        mail: options.mail ?? store,
        directory: store.directory,
        agent,
        bus,
        log: log.log,
        clock,
      });
      schedulers.push(s);
      await s.start();
      return s;
    },
  };
}

/**
 * The queue and message store over `store`, whose next `failures.settle` writes of a queue entry fail
 * (a DSN's commit, which settles its entry, included), as a full or broken disk would.
 */
function failingStore(store: Store, failures: { settle: number }): { queue: QueueStore; mail: MailStore } {
  const fail = () => {
    if (failures.settle <= 0) return false;
    failures.settle -= 1;
    return true;
  };
  const queue: QueueStore = {
    listQueue: () => store.listQueue(),
    getQueueEntry: (id) => store.getQueueEntry(id),
    deleteQueueEntry: (id) => store.deleteQueueEntry(id),
    async settleQueueEntry(entry) {
      if (fail()) throw new Error('simulated store failure: No space left on device');
      return store.settleQueueEntry(entry);
    },
  };
  const mail: MailStore = {
    getMessage: (id) => store.getMessage(id),
    openMessage: (id) => store.openMessage(id),
    listMailbox: (user, mailbox) => store.listMailbox(user, mailbox),
    freeSpace: () => store.freeSpace(),
    async createMessage(): Promise<MessageWriter> {
      const writer = await store.createMessage();
      return {
        messageId: writer.messageId,
        get size() {
          return writer.size;
        },
        write: (chunk) => writer.write(chunk),
        abort: () => writer.abort(),
        async commit(disposition) {
          if (disposition.settles && fail()) {
            await writer.abort();
            throw new Error('simulated store failure: No space left on device');
          }
          return writer.commit(disposition);
        },
      };
    },
  };
  return { queue, mail };
}

t.test('one entry, three domains in flight at once, results recorded together: nothing lost, message released once', async (t) => {
  const { store, intake, agent, events, scheduler } = await rig(t);
  await scheduler();
  // alice keeps a copy in her INBOX: the message is referenced by her mailbox and by the queue entry.
  const queued = await queueMessage(store, intake(), {
    recipients: ['carol@a.test', 'dave@b.test', 'erin@c.test'],
    mailboxes: [ALICE],
  });
  const calls = await agent.waitForCalls(3);
  t.same(calls.map((c) => c.domain).sort(), ['a.test', 'b.test', 'c.test'], 'every domain of the entry is attempted at once');

  // The bounce needs a DSN (slow to write); the two deliveries land while it is being written.
  const from = events.states.length;
  for (const call of calls) call.answer(call.domain === 'a.test' ? 'bounced' : 'delivered');
  await events.settled(from, 3, queued.queueId);
  await events.until(() => events.depths.at(-1)?.messages === 0, 'an empty queue');

  t.same(await store.listQueue(), [], 'the entry is gone from the store');
  const inbox = await readMailbox(store, ALICE);
  t.equal(inbox.length, 2, 'alice has her copy and one bounce');
  t.same(inbox[0]?.bytes, queued.bytes, 'her copy of the message is intact: the queue dropped its reference once, not twice');
  t.match(inbox[1]?.bytes.toString(), /Action: failed[\s\S]*carol@a\.test/);
  t.notMatch(inbox[1]?.bytes.toString(), /Final-Recipient: rfc822;\s*(dave|erin)@/, 'only the failed recipient is in the bounce');
  t.same(await storeCounts(store), { queue: 0, messages: 2, bodies: 2 }, 'the message and its bounce, nothing else');
});

t.test('a result is never lost: the last write of an entry holds every recipient', async (t) => {
  const { store, intake, clock, agent, events, scheduler } = await rig(t);
  const s = await scheduler();
  const queued = await queueMessage(store, intake(), { recipients: ['carol@a.test', 'dave@b.test', 'erin@c.test'] });
  const calls = await agent.waitForCalls(3);
  // a.test defers (a plain write), then b.test bounces (a DSN) and c.test defers, all at once.
  const from = events.states.length;
  for (const call of calls) call.answer(call.domain === 'b.test' ? 'bounced' : 'deferred');
  await events.settled(from, 3, queued.queueId);

  const stored = await store.getQueueEntry(queued.queueId);
  t.same(
    stored?.recipients.map((r) => [r.address, r.state, r.attempts]),
    [
      ['carol@a.test', 'deferred', 1],
      ['dave@b.test', 'bounced', 1],
      ['erin@c.test', 'deferred', 1],
    ],
    'the store has every result, not an older picture of the entry',
  );
  t.same((await s.listQueue())[0]?.recipients.map((r) => r.state), ['deferred', 'bounced', 'deferred'], 'and so has the scheduler');
  t.equal((await readMailbox(store, ALICE)).length, 1, 'one bounce for dave');

  // Both deferred recipients come back together at +5 min, as one attempt each.
  clock.advance(5 * MINUTE);
  t.equal(agent.open().length, 2);
});

t.test('a recipient in flight is not attempted again, whatever retry() or the clock say', async (t) => {
  const { store, intake, clock, agent, scheduler } = await rig(t);
  const s = await scheduler();
  await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  await agent.waitForCalls(1);
  t.equal(await s.retry(), 1);
  clock.advance(2 * 3600_000);
  await s.retry();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(agent.calls.length, 1, 'still one attempt');
  t.same((await s.listQueue())[0]?.recipients.map((r) => r.state), ['inflight']);
});

t.test('a failed write of a deferral leaves no recipient in flight; it is tried again when due', async (t) => {
  const { store, intake, clock, agent, events, log, scheduler } = await rig(t);
  const failures = { settle: 1 };
  const s = await scheduler(failingStore(store, failures));
  const queued = await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  const [call] = await agent.waitForCalls(1);
  const from = events.states.length;
  call?.answer('deferred');
  await events.settled(from, 1);

  const [live] = await s.listQueue();
  t.match(live?.recipients[0], { state: 'deferred', attempts: 1, nextAttemptAt: clock.now() + 5 * MINUTE });
  t.match(log.text(), /could not record the result of a delivery attempt/);
  t.match((await store.getQueueEntry(queued.queueId))?.recipients[0], { state: 'queued', attempts: 0 }, 'the store still has it as before');

  clock.advance(5 * MINUTE - 1);
  t.equal(agent.calls.length, 1, 'not before it is due');
  clock.advance(1);
  t.equal(agent.calls.length, 2, 'tried again when due');
  const again = events.states.length;
  agent.calls[1]?.answer('delivered');
  await events.settled(again, 1);
  t.same(await storeCounts(store), { queue: 0, messages: 0, bodies: 0 }, 'delivered, written, released');
});

t.test('a failed final write keeps the entry and writes it again later, without another attempt', async (t) => {
  const { store, intake, clock, agent, events, scheduler } = await rig(t);
  const failures = { settle: 1 };
  const s = await scheduler(failingStore(store, failures));
  const queued = await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  const [call] = await agent.waitForCalls(1);
  const from = events.states.length;
  call?.answer('delivered');
  await events.settled(from, 1);
  t.match((await s.listQueue())[0]?.recipients[0], { state: 'delivered' }, 'the scheduler knows it was delivered');
  t.ok(await store.getQueueEntry(queued.queueId), 'the store does not yet');

  clock.advance(5 * MINUTE);
  await events.until(() => events.depths.at(-1)?.messages === 0, 'the entry written and forgotten');
  t.equal(agent.calls.length, 1, 'the far side was not asked again');
  t.same(await storeCounts(store), { queue: 0, messages: 0, bodies: 0 });
});

t.test('a failed write of a bounce keeps the DSN owed: the recipient is tried again and bounced then', async (t) => {
  const { store, intake, clock, agent, events, scheduler } = await rig(t);
  const failures = { settle: 1 };
  await scheduler(failingStore(store, failures));
  await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  const [call] = await agent.waitForCalls(1);
  let from = events.states.length;
  call?.answer('bounced');
  await events.settled(from, 1);
  t.equal((await readMailbox(store, ALICE)).length, 0, 'no bounce yet: its write failed');
  t.same(await storeCounts(store), { queue: 1, messages: 1, bodies: 1 }, 'and no half-written DSN was left behind');

  clock.advance(5 * MINUTE);
  from = events.states.length;
  agent.calls[1]?.answer('bounced');
  await events.settled(from, 1);
  t.equal((await readMailbox(store, ALICE)).length, 1, 'the bounce went out on the next attempt');
  t.same(await storeCounts(store), { queue: 0, messages: 1, bodies: 1 }, 'only the bounce is left');
});

t.test('stop() waits for the attempts in flight, and their results are written', async (t) => {
  const { store, intake, agent, events, scheduler } = await rig(t);
  const s = await scheduler();
  const queued = await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  const [call] = await agent.waitForCalls(1);
  let stopped = false;
  const stopping = s.stop(60_000).then(() => (stopped = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(stopped, false, 'stop() waits while an attempt runs');
  call?.answer('deferred');
  await stopping;
  t.match((await store.getQueueEntry(queued.queueId))?.recipients[0], { state: 'deferred', attempts: 1 }, 'the result is in the store');
  t.equal(events.settledSince(0).length, 1);
});

t.test('an attempt that outlives stop()\'s grace is interrupted, left pending as it was, and nothing new starts', async (t) => {
  const { store, intake, clock, agent, scheduler } = await rig(t);
  const s = await scheduler();
  const queued = await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  const [call] = await agent.waitForCalls(1);
  await s.stop(1);
  t.equal(call?.aborted, true, 'the stop ended the attempt when its grace ran out');
  t.match((await store.getQueueEntry(queued.queueId))?.recipients[0], { state: 'queued', attempts: 0 }, 'not counted as an attempt: tried again at the next start');
  clock.advance(24 * 3600_000);
  await queueMessage(store, intake(), { recipients: ['dave@b.test'] });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(agent.calls.length, 1, 'a stopped scheduler starts nothing');
});

t.test('remove() interrupts the attempts of the entry and waits for them; other entries are tried again at once', async (t) => {
  const { store, agent, scheduler } = await rig(t);
  // Both in the store before the start: one call to a.test carries both entries.
  const queued = await queueMessage(store, undefined, { recipients: ['carol@a.test', 'dave@b.test'] });
  const other = await queueMessage(store, undefined, { recipients: ['erin@a.test'] });
  const s = await scheduler();
  const calls = await agent.waitForCalls(2);
  t.same(calls.map((c) => c.messages.length).sort(), [1, 2], 'a.test carries both entries, b.test the first');
  await s.remove(queued.queueId);
  t.same(calls.slice(0, 2).map((c) => c.aborted), [true, true], 'both attempts carrying the entry were ended');
  const [again] = (await agent.waitForCalls(3)).slice(2);
  t.match(again, { domain: 'a.test', messages: [{ queueId: other.queueId, recipients: [{ address: 'erin@a.test' }] }] }, 'the other entry goes again at once');
  t.match((await s.listQueue())[0]?.recipients[0], { state: 'inflight', attempts: 0 }, 'its interrupted attempt was not counted');
  again?.answer('delivered');
  await s.stop(10_000);
  t.same(await storeCounts(store), { queue: 0, messages: 0, bodies: 0 }, 'the removed entry left nothing; the other was delivered');
});

t.test('bounce() of an entry in flight: the recipient the far side accepted stays delivered, the rest is bounced', async (t) => {
  const { store, intake, agent, scheduler } = await rig(t);
  const s = await scheduler();
  const queued = await queueMessage(store, intake(), { recipients: ['carol@a.test', 'dave@b.test'], mailboxes: [ALICE] });
  const calls = await agent.waitForCalls(2);
  calls.find((c) => c.domain === 'a.test')?.answer('delivered');
  await s.bounce(queued.queueId);
  t.equal(calls.find((c) => c.domain === 'b.test')?.aborted, true, 'the attempt still running was ended');
  const [, dsn] = await readMailbox(store, ALICE);
  t.match(dsn?.bytes.toString(), /Final-Recipient: rfc822;\s*dave@b\.test[\s\S]*Action: failed/, 'the bounce tells of dave');
  t.notMatch(dsn?.bytes.toString(), /Final-Recipient: rfc822;\s*carol@/, 'not of carol, who was delivered');
  t.same(await s.listQueue(), [], 'the entry is done');
});

t.test('a DSN for a remote sender joins the running queue as an entry from <>', async (t) => {
  const { store, intake, agent, events, scheduler } = await rig(t);
  const s = await scheduler();
  const queued = await queueMessage(store, intake(), { sender: 'bob@elsewhere.test', recipients: ['carol@a.test'] });
  const [call] = await agent.waitForCalls(1);
  call?.answer('bounced');
  const [dsnCall] = (await agent.waitForCalls(2)).slice(1);
  t.equal(dsnCall?.domain, 'elsewhere.test');
  t.match(dsnCall?.messages, [{ sender: '', recipients: [{ address: 'bob@elsewhere.test' }] }]);
  t.match(events.queued.at(-1), { recipients: ['bob@elsewhere.test'] }, 'the bus heard of the new entry');
  t.not(events.queued.at(-1)?.queueId, queued.queueId);
  const [entry] = await s.listQueue();
  t.match(entry, { sender: '', recipients: [{ address: 'bob@elsewhere.test', state: 'inflight' }] });
  t.equal((await s.listQueue()).length, 1, 'the bounced entry itself is gone');
});

t.test('a message queued while the scheduler starts is not missed', async (t) => {
  const { store, intake, agent, scheduler } = await rig(t);
  let sneaked = false;
  const queue: QueueStore = {
    getQueueEntry: (id) => store.getQueueEntry(id),
    settleQueueEntry: (entry) => store.settleQueueEntry(entry),
    deleteQueueEntry: (id) => store.deleteQueueEntry(id),
    async listQueue() {
      const listed = await store.listQueue();
      // SMTP commits a message through the intake after the scheduler read the queue, before its start ends.
      if (!sneaked) {
        sneaked = true;
        await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
      }
      return listed;
    },
  };
  await scheduler({ queue });
  const [call] = await agent.waitForCalls(1);
  t.equal(call?.domain, 'a.test');
});

t.test('limits: per domain and overall, with more than one batch per domain', async (t) => {
  const { store, intake, agent, events, scheduler } = await rig(t);
  // 60 messages to a.test are in the queue when the scheduler starts: more than one batch of 50.
  for (let i = 0; i < 60; i++) await queueMessage(store, intake(), { recipients: [`user${i}@a.test`] });
  await queueMessage(store, intake(), { recipients: ['dave@b.test'] });
  await queueMessage(store, intake(), { recipients: ['erin@c.test'] });
  const running = await scheduler({ settings: { maxInFlight: 3, maxInFlightPerDomain: 2 } });
  await agent.waitForCalls(3);
  t.same(agent.calls.slice(0, 2).map((c) => c.domain), ['a.test', 'a.test'], 'two batches for a.test: its limit');
  t.same(agent.calls.slice(0, 2).map((c) => c.messages.length), [50, 10], 'at most 50 messages per call');
  const third = agent.calls[2]?.domain;
  t.ok(third === 'b.test' || third === 'c.test', 'then one more domain: the overall limit');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(agent.calls.length, 3, 'and no more');

  const from = events.states.length;
  agent.calls[2]?.answer('delivered');
  await events.settled(from, 1);
  await agent.waitForCalls(4);
  t.equal(agent.calls[3]?.domain, third === 'b.test' ? 'c.test' : 'b.test', 'the last domain starts once a slot is free');
  t.equal(agent.open().length, 3);
  for (const call of agent.open()) call.answer('delivered');
  await events.until(() => events.depths.at(-1)?.messages === 0, 'an empty queue');
  t.same(await running.listQueue(), []);
  t.same(await storeCounts(store), { queue: 0, messages: 0, bodies: 0 });
});

t.test('due recipients waiting for a free slot arm no timer for a time already past (the system clock would spin)', async (t) => {
  const { store, intake, clock, agent, events, scheduler } = await rig(t);
  const armed: { when: number; now: number }[] = [];
  const at = clock.at.bind(clock);
  clock.at = (when, fire) => {
    armed.push({ when, now: clock.now() });
    return at(when, fire);
  };
  await scheduler({ settings: { maxInFlightPerDomain: 1 } });
  await queueMessage(store, intake(), { recipients: ['carol@a.test'] });
  await agent.waitForCalls(1);
  const waiting = await queueMessage(store, intake(), { recipients: ['dave@a.test'] });
  await events.until(() => events.depths.some((d) => d.messages === 2), 'the second message admitted');
  t.equal(agent.calls.length, 1, 'the second waits for the first: one attempt per domain');
  t.same(armed.filter((a) => a.when <= a.now), [], 'no timer for a time already past');

  const from = events.states.length;
  agent.calls[0]?.answer('delivered');
  await agent.waitForCalls(2);
  t.same(agent.calls[1]?.messages.map((m) => m.queueId), [waiting.queueId], 'the end of the first attempt starts the second');
  agent.calls[1]?.answer('delivered');
  await events.settled(from, 2);
});
