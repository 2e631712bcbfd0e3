// `letterbox queue retry|delete|bounce` as the QueueControl of the running scheduler and as the
// OfflineQueue on a store no scheduler runs on; and the events the queue puts on the bus. In process,
// with the real delivery agent against dnsmasq and smtp-sink on loopback and a clock the test moves.
import t from 'tap';
import { OfflineQueue } from '../../src/queue/operations.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { ALICE, HOSTNAME } from '../helpers/addresses.js';
import { parseReport } from '../helpers/dsn.js';
import { readMailbox } from '../helpers/mailbox.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { startQueueRig, storeCounts, type QueueRig, type Teardown } from '../helpers/queue-store.js';
import { startSmtpSink, type RunningSink, type TapLike } from '../helpers/remote-mta.js';

const MX = '127.0.0.8'; // remote.test: greylists
const OTHER_MX = '127.0.0.9'; // elsewhere.test: takes everything

const MINUTE = 60_000;
const GREYLIST = ['-r', 'RCPT', '-b', '450 4.2.0 Greylisted, try again later'];

const ZONE: DnsZone = {
  mx: [
    { domain: 'remote.test', host: 'mx.remote.test', preference: 10 },
    { domain: 'elsewhere.test', host: 'mx.elsewhere.test', preference: 10 },
  ],
  hosts: [
    { name: 'mx.remote.test', addresses: [MX] },
    { name: 'mx.elsewhere.test', addresses: [OTHER_MX] },
  ],
};

interface Setup {
  rig: QueueRig;
  greylisting: RunningSink;
  accepting: RunningSink;
}

async function setup(t: TapLike & Teardown): Promise<Setup | null> {
  const port = await portFreeOnAll([MX, OTHER_MX]);
  const dns = await startDnsmasq(t, ZONE);
  const greylisting = await startSmtpSink(t, { host: MX, port, options: GREYLIST });
  const accepting = await startSmtpSink(t, { host: OTHER_MX, port });
  if (!dns || !greylisting || !accepting) return null;
  return { rig: await startQueueRig(t, { dnsServer: dns.server, mxPort: port }), greylisting, accepting };
}

/** Queues a message for carol@remote.test and waits for its first attempt, a deferral. */
async function deferred(rig: QueueRig, subject = 'Minutes'): Promise<string> {
  const from = rig.events.states.length;
  const { queueId } = await rig.queue({ recipients: ['carol@remote.test'], subject });
  const [result] = await rig.events.settled(from, 1, queueId);
  if (result?.state !== 'deferred') throw new Error(`not deferred: ${JSON.stringify(result)}`);
  return queueId;
}

function offline(rig: QueueRig): OfflineQueue {
  return new OfflineQueue({ queue: rig.store, mail: rig.store, directory: rig.store.directory, log: rig.log.log, hostname: HOSTNAME }, rig.clock);
}

t.test('running: retry(id) makes a deferred recipient due now', async (t) => {
  const ready = await setup(t);
  if (!ready) return;
  const { rig, greylisting } = ready;
  const scheduler = await rig.startScheduler();
  const queueId = await deferred(rig);
  await deferred(rig, 'Agenda');
  t.equal((await greylisting.ended(2)).length, 2);

  const from = rig.events.states.length;
  t.equal(await scheduler.retry(queueId), 1);
  t.same(rig.events.launchedSince(from).map((e) => e.queueId), [queueId], 'tried at once, without the clock moving; the other entry is not');
  const [result] = await rig.events.settled(from, 1, queueId);
  t.equal(result?.state, 'deferred');
  t.equal((await greylisting.ended(3)).length, 3, 'a third session');
  t.equal((await rig.live(scheduler, queueId))?.recipients[0]?.nextAttemptAt, rig.clock.now() + 10 * MINUTE, 'the next retry follows the schedule');

  const all = rig.events.states.length;
  t.equal(await scheduler.retry(), 2, 'retry() without an id takes every entry');
  await rig.events.settled(all, 2);
  const sessions = await greylisting.ended(4);
  t.equal(sessions.length, 4, 'both messages for remote.test went in one session');
  t.equal(sessions[3]?.commands.filter((c) => c.startsWith('MAIL FROM:')).length, 2);
  await t.rejects(scheduler.retry('no-such-entry'), { code: 'NOT_FOUND' });
});

t.test('running: remove(id) drops the entry without a DSN and releases the message', async (t) => {
  const ready = await setup(t);
  if (!ready) return;
  const { rig, greylisting } = ready;
  const scheduler = await rig.startScheduler();
  const queueId = await deferred(rig);
  t.same(await storeCounts(rig.store), { queue: 1, messages: 1, bodies: 1 });
  await scheduler.remove(queueId);
  t.same(await scheduler.listQueue(), []);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 }, 'entry, message and bodies gone');
  t.match(rig.events.depths.at(-1), { messages: 0, recipients: 0, deferred: 0 });

  const from = rig.events.states.length;
  rig.clock.advance(6 * 24 * 60 * MINUTE);
  t.same(rig.events.statesSince(from), [], 'never tried again, never bounced');
  t.equal(greylisting.sessions().length, 1);
  t.same(await readMailbox(rig.store, ALICE), [], 'no DSN');
  t.match(rig.log.text(), /queue entry deleted by the administrator/);
  await t.rejects(scheduler.remove(queueId), { code: 'NOT_FOUND' });
});

t.test('running: bounce(id) gives up now, with a failure DSN to the sender', async (t) => {
  const ready = await setup(t);
  if (!ready) return;
  const { rig } = ready;
  const scheduler = await rig.startScheduler();
  const queueId = await deferred(rig, 'Budget');
  const from = rig.events.states.length;
  await scheduler.bounce(queueId);
  t.same(rig.events.statesSince(from).map((e) => [e.recipient, e.state]), [['carol@remote.test', 'bounced']]);
  t.same(await scheduler.listQueue(), []);

  const inbox = await readMailbox(rig.store, ALICE);
  t.equal(inbox.length, 1);
  const report = await parseReport(inbox[0]!.bytes);
  t.match(report, { contentType: 'multipart/report', reportType: 'delivery-status', subject: 'Undelivered Mail Returned to Sender' });
  t.equal(report.groups[1]?.get('action'), 'failed');
  t.equal(report.groups[1]?.get('diagnostic-code'), 'smtp; 550 5.0.0 Message returned by the administrator');
  t.match(report.returned, /Subject: Budget/);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 1, bodies: 1 }, 'only the DSN is left');
  await t.rejects(scheduler.bounce(queueId), { code: 'NOT_FOUND' });
});

t.test('offline: retry, remove and bounce on the store while no scheduler runs', async (t) => {
  const ready = await setup(t);
  if (!ready) return;
  const { rig, greylisting } = ready;
  const first = await rig.startScheduler();
  const toRetry = await deferred(rig, 'Retry me');
  const toRemove = await deferred(rig, 'Remove me');
  const toBounce = await deferred(rig, 'Bounce me');
  await first.stop();
  const queue = offline(rig);

  t.same((await queue.listQueue()).map((e) => e.recipients[0]?.state), ['deferred', 'deferred', 'deferred']);
  t.equal(await queue.retry(toRetry), 1);
  t.equal((await rig.store.getQueueEntry(toRetry))?.recipients[0]?.nextAttemptAt, rig.clock.now(), 'due now, in the store');
  await queue.remove(toRemove);
  t.equal(await rig.store.getQueueEntry(toRemove), null);
  await queue.bounce(toBounce);
  t.equal(await rig.store.getQueueEntry(toBounce), null);
  const inbox = await readMailbox(rig.store, ALICE);
  t.equal(inbox.length, 1, 'a bounce for the bounced one only');
  t.match((await parseReport(inbox[0]!.bytes)).returned, /Subject: Bounce me/);
  t.same(await storeCounts(rig.store), { queue: 1, messages: 2, bodies: 2 }, 'the retried entry with its message, and the DSN');
  await t.rejects(queue.remove(toRemove), { code: 'NOT_FOUND' });

  // The next start tries the retried entry at once.
  const sessions = greylisting.sessions().length;
  const from = rig.events.states.length;
  await rig.startScheduler();
  t.same(rig.events.launchedSince(from).map((e) => e.queueId), [toRetry]);
  await rig.events.settled(from, 1);
  t.equal((await greylisting.ended(sessions + 1)).length, sessions + 1);
});

t.test('offline: an entry stored in flight (cut short) is bounced whole', async (t) => {
  const ready = await setup(t);
  if (!ready) return;
  const { rig } = ready;
  const { queueId } = await rig.queue({ recipients: ['carol@remote.test', 'dave@remote.test'] });
  const entry = await rig.store.getQueueEntry(queueId);
  if (!entry) throw new Error('no entry');
  entry.recipients[0]!.state = 'inflight';
  await rig.store.settleQueueEntry(entry);
  const queue = offline(rig);
  t.same((await queue.listQueue())[0]?.recipients.map((r) => r.state), ['queued', 'queued'], 'nothing is in flight while nothing runs');
  await queue.bounce(queueId);
  t.equal(await rig.store.getQueueEntry(queueId), null, 'no recipient left behind');
  const report = await parseReport((await readMailbox(rig.store, ALICE))[0]!.bytes);
  t.same(report.groups.slice(1).map((g) => g.get('final-recipient')), ['rfc822; carol@remote.test', 'rfc822; dave@remote.test']);
});

t.test('events: recipient.state for every change, queue.depth when the depth changes', async (t) => {
  const ready = await setup(t);
  if (!ready) return;
  const { rig } = ready;
  const scheduler = await rig.startScheduler();
  t.same(rig.events.depths, [{ messages: 0, recipients: 0, deferred: 0 }], 'the depth at start');

  const { queueId } = await rig.queue({ recipients: ['bob@elsewhere.test', 'carol@remote.test'] });
  await rig.events.settled(0, 2, queueId);
  await scheduler.bounce(queueId);

  const of = (recipient: string) => rig.events.states.filter((e) => e.recipient === recipient).map((e) => e.state);
  t.same(of('bob@elsewhere.test'), ['inflight', 'delivered']);
  t.same(of('carol@remote.test'), ['inflight', 'deferred', 'bounced']);
  t.ok(rig.events.states.every((e) => e.queueId === queueId));
  t.match(rig.events.states.find((e) => e.state === 'deferred'), { detail: '450 4.2.0 Greylisted, try again later' });
  t.match(rig.events.states.find((e) => e.state === 'delivered'), { detail: /^250 / });

  const depths = rig.events.depths;
  t.same(depths[1], { messages: 1, recipients: 2, deferred: 0 }, 'queued: one message, two recipients');
  t.ok(depths.some((d) => d.messages === 1 && d.recipients === 1 && d.deferred === 1), 'one recipient deferred');
  t.same(depths.at(-1), { messages: 0, recipients: 0, deferred: 0 }, 'empty at the end');
  t.ok(depths.every((d, i) => i === 0 || JSON.stringify(d) !== JSON.stringify(depths[i - 1])), 'no repeats');
});
