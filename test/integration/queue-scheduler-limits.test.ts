// Limits on attempts in flight, per destination domain and overall, with the real delivery agent and
// MXs that the test holds at DATA until it has seen what it looks for (not a delay: a hold). What is counted: the SMTP sessions open at once at
// each MX (from the sink's own transcript) and the recipients in flight (from the queue's events).
import t from 'tap';
import type { LetterboxEvents } from '../../src/core/events.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { startQueueRig, storeCounts, type QueueRig, type Teardown } from '../helpers/queue-store.js';
import { startSmtpSink, type RunningSink, type TapLike } from '../helpers/remote-mta.js';

const A_MX = '127.0.0.6';
const B_MX = '127.0.0.7';

const ZONE: DnsZone = {
  mx: [
    { domain: 'a.test', host: 'mx.a.test', preference: 10 },
    { domain: 'b.test', host: 'mx.b.test', preference: 10 },
  ],
  hosts: [
    { name: 'mx.a.test', addresses: [A_MX] },
    { name: 'mx.b.test', addresses: [B_MX] },
  ],
};

/** The most sessions the sink had open at once, from its connect and disconnect lines. */
function mostOpenAtOnce(sink: RunningSink): number {
  let open = 0;
  let most = 0;
  for (const line of sink.log.lines) {
    if (/smtp-sink: connect \(/.test(line)) most = Math.max(most, ++open);
    else if (/smtp-sink: disconnect/.test(line)) open--;
  }
  return most;
}

type StateEvent = LetterboxEvents['recipient.state'];

/** Attempts in flight per domain and overall, as the queue's events tell them, at their highest. */
function inFlightPeaks(states: StateEvent[]): { overall: number; byDomain: Record<string, number> } {
  const now = new Map<string, number>();
  let overall = 0;
  const peaks = { overall: 0, byDomain: {} as Record<string, number> };
  for (const { recipient, state } of states) {
    const domain = recipient.split('@')[1] ?? '';
    const step = state === 'inflight' ? 1 : -1;
    now.set(domain, (now.get(domain) ?? 0) + step);
    overall += step;
    peaks.overall = Math.max(peaks.overall, overall);
    peaks.byDomain[domain] = Math.max(peaks.byDomain[domain] ?? 0, now.get(domain) ?? 0);
  }
  return peaks;
}

async function setup(t: TapLike & Teardown, limits: { maxInFlight: number; maxInFlightPerDomain: number }) {
  const port = await portFreeOnAll([A_MX, B_MX]);
  const dns = await startDnsmasq(t, ZONE);
  // Each MX holds the first session at DATA until the test releases it: that attempt is still running
  // when the next message comes, however slow the machine.
  const hold = { after: /^DATA$/i };
  const a = await startSmtpSink(t, { host: A_MX, port, hold });
  const b = await startSmtpSink(t, { host: B_MX, port, hold });
  if (!dns || !a || !b) return null;
  const rig = await startQueueRig(t, { dnsServer: dns.server, mxPort: port, settings: limits });
  return { rig, a, b, scheduler: await rig.startScheduler() };
}

/** Queues a message and waits until its attempt started or the scheduler decided it must wait. */
async function queueTo(rig: QueueRig, recipient: string): Promise<string> {
  const depth = rig.events.depths.length;
  const { queueId } = await rig.queue({ recipients: [recipient] });
  await rig.events.until(() => rig.events.depths.length > depth, `${recipient} admitted`);
  return queueId;
}

t.test('one attempt per domain: a second message for a busy domain waits, another domain goes at once', async (t) => {
  const ready = await setup(t, { maxInFlight: 10, maxInFlightPerDomain: 1 });
  if (!ready) return;
  const { rig, a, b, scheduler } = ready;
  const first = await queueTo(rig, 'carol@a.test');
  await a.held();
  const second = await queueTo(rig, 'dave@a.test');
  const third = await queueTo(rig, 'erin@b.test');
  await b.held();
  t.same(rig.events.launchedSince(0).map((e) => e.queueId), [first, third], 'a.test\'s second message waits; b.test goes alongside');
  t.match(await scheduler.listQueue(), [{ id: first, recipients: [{ state: 'inflight' }] }, { id: second, recipients: [{ state: 'queued' }] }, { id: third, recipients: [{ state: 'inflight' }] }]);

  a.release();
  b.release();
  await rig.events.settled(0, 3);
  const order = rig.events.states.map((e) => `${e.state} ${e.recipient}`);
  t.ok(order.indexOf('inflight dave@a.test') > order.indexOf('delivered carol@a.test'), 'the second a.test attempt started after the first ended');
  t.same(inFlightPeaks(rig.events.states), { overall: 2, byDomain: { 'a.test': 1, 'b.test': 1 } });
  t.equal((await a.ended(2)).length, 2, 'a.test: two sessions');
  t.equal(mostOpenAtOnce(a), 1, 'one after the other');
  t.equal((await b.ended(1)).length, 1);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 });
});

t.test('one attempt overall: different domains wait for each other too', async (t) => {
  const ready = await setup(t, { maxInFlight: 1, maxInFlightPerDomain: 4 });
  if (!ready) return;
  const { rig, a, b } = ready;
  const first = await queueTo(rig, 'carol@a.test');
  await a.held();
  await queueTo(rig, 'erin@b.test');
  await queueTo(rig, 'dave@a.test');
  t.same(rig.events.launchedSince(0).map((e) => e.queueId), [first], 'only one attempt runs');
  a.release();
  b.release();
  await rig.events.settled(0, 3);
  t.equal(inFlightPeaks(rig.events.states).overall, 1);
  const states = rig.events.states;
  t.same(states.map((e) => e.state), ['inflight', 'delivered', 'inflight', 'delivered', 'inflight', 'delivered'], 'one at a time');
  t.ok(states.every((e, i) => i % 2 === 0 || e.recipient === states[i - 1]?.recipient), 'each attempt ends before the next starts');
  t.same(states.filter((e) => e.state === 'inflight').map((e) => e.recipient).sort(), ['carol@a.test', 'dave@a.test', 'erin@b.test']);
  t.equal((await a.ended(2)).length, 2);
  t.equal((await b.ended(1)).length, 1);
  t.equal(mostOpenAtOnce(a), 1);
});

t.test('messages for one domain due together share one attempt and one connection', async (t) => {
  const ready = await setup(t, { maxInFlight: 10, maxInFlightPerDomain: 1 });
  if (!ready) return;
  const { rig, a, b, scheduler } = ready;
  a.release();
  b.release();
  await scheduler.stop();
  // Queued while no scheduler runs: all due at once when the next one starts.
  for (const user of ['carol', 'dave', 'erin']) await rig.queue({ recipients: [`${user}@a.test`] });
  await rig.startScheduler();
  await rig.events.settled(0, 3);
  const [session] = await a.ended(1);
  t.equal(a.sessions().length, 1, 'one connection');
  t.equal(session?.commands.filter((c) => c.startsWith('MAIL FROM:')).length, 3, 'three transactions on it');
});
