// A scheduler that stops and a new one on the same store: the schedule is rebuilt from the store, the
// deferred recipients are tried at their nextAttemptAt and not before, and what the far side accepted
// before the stop is not sent again. In process, with the real delivery agent against dnsmasq and
// smtp-sink on loopback and a clock the test moves.
import t from 'tap';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { startQueueRig, storeCounts } from '../helpers/queue-store.js';
import { startSmtpSink } from '../helpers/remote-mta.js';

const MX = '127.0.0.4'; // remote.test: greylists, later takes the mail
const OTHER_MX = '127.0.0.5'; // elsewhere.test: takes everything

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

t.test('a new scheduler on the same store picks up the deferred recipients at their nextAttemptAt', async (t) => {
  const port = await portFreeOnAll([MX, OTHER_MX]);
  const dns = await startDnsmasq(t, ZONE);
  const greylisting = await startSmtpSink(t, { host: MX, port, options: GREYLIST });
  const other = await startSmtpSink(t, { host: OTHER_MX, port });
  if (!dns || !greylisting || !other) return;
  const rig = await startQueueRig(t, { dnsServer: dns.server, mxPort: port });
  const first = await rig.startScheduler();

  // One message, two domains: elsewhere.test takes it, remote.test defers.
  let from = rig.events.states.length;
  const { queueId } = await rig.queue({ recipients: ['carol@remote.test', 'bob@elsewhere.test'] });
  await rig.events.settled(from, 2, queueId);
  from = rig.events.states.length;
  rig.clock.advance(5 * MINUTE);
  await rig.events.settled(from, 1, queueId);
  t.equal((await greylisting.ended(2)).length, 2, 'two attempts at remote.test before the stop');
  const due = rig.clock.now() + 10 * MINUTE;
  t.match(await rig.live(first, queueId), { recipients: [{ state: 'deferred', attempts: 2, nextAttemptAt: due }, { state: 'delivered' }] });

  await first.stop();
  // The MX stops greylisting while the queue is down.
  await greylisting.stop();
  const accepting = await startSmtpSink(t, { host: MX, port });
  if (!accepting) return;

  from = rig.events.states.length;
  const second = await rig.startScheduler();
  t.match(await second.listQueue(), [{ id: queueId, recipients: [{ address: 'carol@remote.test', state: 'deferred', attempts: 2, nextAttemptAt: due }, { address: 'bob@elsewhere.test', state: 'delivered' }] }], 'the schedule is rebuilt from the store');
  t.equal(rig.events.launchedSince(from).length, 0, 'nothing is due at start');
  t.match(rig.events.depths.at(-1), { messages: 1, recipients: 1, deferred: 1 });

  rig.clock.advance(due - 1 - rig.clock.now());
  t.equal(rig.events.launchedSince(from).length, 0, 'not a millisecond early');
  rig.clock.advance(1);
  t.same(rig.events.launchedSince(from).map((e) => e.recipient), ['carol@remote.test'], 'only the deferred recipient is tried');
  const [result] = await rig.events.settled(from, 1, queueId);
  t.equal(result?.state, 'delivered');
  t.equal((await accepting.ended(1)).length, 1);
  t.equal(other.sessions().length, 1, 'bob got the message once: not again after the restart');
  t.same(await second.listQueue(), []);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 });
});

t.test('stop() while an attempt runs waits for it and records it; the next scheduler does not send it again', async (t) => {
  const port = await portFreeOnAll([MX, OTHER_MX]);
  const dns = await startDnsmasq(t, ZONE);
  // The MX holds the session at DATA until the test releases it: the attempt is running when stop() is called.
  const slow = await startSmtpSink(t, { host: MX, port, hold: { after: /^DATA$/i } });
  if (!dns || !slow) return;
  const rig = await startQueueRig(t, { dnsServer: dns.server, mxPort: port });
  const first = await rig.startScheduler();
  const from = rig.events.states.length;
  const { queueId } = await rig.queue({ recipients: ['carol@remote.test'] });
  await rig.events.until(() => rig.events.launchedSince(from, queueId).length === 1, 'the attempt to start');
  await slow.held();
  const stopped = first.stop(60_000);
  // Called while the attempt is held at the far side; only then does the far side answer.
  t.same(rig.events.settledSince(from, queueId), [], 'stop() is called while the attempt runs');
  slow.release();
  await stopped;
  t.same(rig.events.settledSince(from, queueId).map((e) => e.state), ['delivered'], 'stop() returned after the result was recorded');
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 }, 'and written');

  const second = await rig.startScheduler();
  rig.clock.advance(24 * 60 * MINUTE);
  t.same(await second.listQueue(), []);
  t.equal((await slow.ended(1)).length, 1, 'one session at the far side');
});

t.test('an entry written in flight (a crash mid-attempt) is tried again at once after the restart', async (t) => {
  const port = await portFreeOnAll([MX, OTHER_MX]);
  const dns = await startDnsmasq(t, ZONE);
  const sink = await startSmtpSink(t, { host: MX, port });
  if (!dns || !sink) return;
  const rig = await startQueueRig(t, { dnsServer: dns.server, mxPort: port });
  // What the store holds after a power cut in the middle of an attempt.
  const { queueId } = await rig.queue({ recipients: ['carol@remote.test'] });
  const entry = await rig.store.getQueueEntry(queueId);
  if (!entry) throw new Error('no entry');
  entry.recipients[0]!.state = 'inflight';
  entry.recipients[0]!.attempts = 3;
  await rig.store.settleQueueEntry(entry);

  const from = rig.events.states.length;
  const scheduler = await rig.startScheduler();
  t.same(rig.events.launchedSince(from, queueId).map((e) => e.recipient), ['carol@remote.test']);
  const [result] = await rig.events.settled(from, 1, queueId);
  t.equal(result?.state, 'delivered');
  t.same(await scheduler.listQueue(), []);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 });
});
