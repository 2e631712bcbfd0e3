// Outbound sessions against remote MXs that stall or flood (issue 15): a reply trickled a byte a second
// never idles out, so only a total deadline per stage ends it (the EHLO reply, the reply after the final
// dot) while mail for a good domain goes out meanwhile; a reply past the 64 KiB cap (connection.ts) closes the
// socket at once instead of reading on; and an aborted attempt ends within a second, keeping what was
// already accepted. The DNS is test/helpers/hostile-dns.ts answering at once.
import t, { type Test } from 'tap';
import { createDeliveryAgent, type DeliverySettings } from '../../src/delivery/index.js';
import type { DeliveryOutcome } from '../../src/core/types.js';
import { capturedLog, deliveryDeps, deliverySettings } from '../helpers/delivery.js';
import { startHostileDns } from '../helpers/hostile-dns.js';
import { startHostileMx, type HostileMx, type MxPace, type MxStage } from '../helpers/hostile-mx.js';
import { outbound } from '../helpers/messages.js';
import { portFreeOnAll } from '../helpers/ports.js';

// Deadlines of a few seconds, and servers that would hold a session for days without them.
t.setTimeout(120_000);

const HOSTILE = '127.0.0.2';
const GOOD = '127.0.0.3';

interface Rig {
  hostile: HostileMx;
  good: HostileMx;
  agent: ReturnType<typeof createDeliveryAgent>;
}

async function rig(t: Test, pace: (stage: MxStage, nth: number) => MxPace, settings: Partial<DeliverySettings>): Promise<Rig> {
  const port = await portFreeOnAll([HOSTILE, GOOD]);
  const hostile = await startHostileMx(t, { host: HOSTILE, port, pace });
  const good = await startHostileMx(t, { host: GOOD, port });
  const dns = await startHostileDns(t, {
    mx: { 'hostile.test': [{ host: 'mx.hostile.test', preference: 10 }], 'good.test': [{ host: 'mx.good.test', preference: 10 }] },
    hosts: { 'mx.hostile.test': [HOSTILE], 'mx.good.test': [GOOD] },
  });
  const agent = createDeliveryAgent(deliverySettings(dns.server, port, settings), deliveryDeps(capturedLog().log).deps);
  return { hostile, good, agent };
}

/** Delivers to hostile.test and, while that attempt runs, to good.test; says when each one ended. */
async function raceWithGoodDomain(t: Test, { hostile, agent }: Rig) {
  const stalled = outbound({ recipients: ['someone@hostile.test'] });
  const fine = outbound({ recipients: ['someone@good.test'] });
  const startedAt = Date.now();
  const stalledAttempt = agent.deliver('hostile.test', [stalled]).then((result) => ({ outcome: result.get(stalled.queueId)?.[0], endedAt: Date.now() }));
  // The good domain's attempt starts once the hostile session is under way.
  await hostile.until(() => hostile.connections > 0);
  const [fineOutcome] = (await agent.deliver('good.test', [fine])).get(fine.queueId) ?? [];
  const fineAt = Date.now();
  const { outcome, endedAt } = await stalledAttempt;
  t.match(fineOutcome, { status: 'delivered', remoteMta: 'mx.good.test' }, 'the good domain was delivered');
  t.ok(fineAt <= endedAt, `... while the hostile attempt was still running (${fineAt - startedAt} ms in)`);
  return { outcome, livedMs: endedAt - startedAt };
}

t.test('an EHLO reply trickled a byte a second is cut off by its deadline', async (t) => {
  const setup = await rig(t, (stage) => (stage === 'ehlo' ? 'trickle' : 'whole'), { replyTimeoutSeconds: 2 });
  const { outcome, livedMs } = await raceWithGoodDomain(t, setup);
  t.match(outcome, { status: 'deferred', enhancedCode: '4.4.2', reply: /^mx\.hostile\.test\[127\.0\.0\.2\]:\d+ timed out after 2 s waiting for the reply to EHLO$/ });
  // Generous: the point is that it ended at all, by the deadline and not by the idle timer (10 s).
  t.ok(livedMs >= 2000 && livedMs < 9000, `the trickling attempt lived ${livedMs} ms (deadline 2 s)`);
  const [session] = await setup.hostile.ended(1);
  t.ok(session?.closedAt, 'and its connection was dropped');
});

t.test('a reply after the final dot trickled a byte a second is cut off by its deadline', async (t) => {
  const setup = await rig(t, (stage) => (stage === 'final' ? 'trickle' : 'whole'), { finalReplyTimeoutSeconds: 3 });
  const { outcome, livedMs } = await raceWithGoodDomain(t, setup);
  t.match(outcome, { status: 'deferred', enhancedCode: '4.4.2', reply: /timed out after 3 s waiting for the reply to the end of the message$/ });
  t.ok(livedMs >= 3000 && livedMs < 9000, `the trickling attempt lived ${livedMs} ms (deadline 3 s)`);
  t.equal(setup.hostile.messages.length, 1, 'the message itself had gone over');
});

t.test('a reply over the 64 KiB cap closes the socket at once', async (t) => {
  const { hostile, agent } = await rig(t, (stage) => (stage === 'ehlo' ? 'flood' : 'whole'), {});
  const message = outbound({ recipients: ['someone@hostile.test'] });
  const [outcome] = (await agent.deliver('hostile.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, { status: 'deferred', enhancedCode: '4.4.2', reply: /Server response exceeds maximum allowed size/ });
  const [session] = await hostile.ended(1);
  const flooded = session?.floodedBytes ?? 0;
  const lived = (session?.closedAt ?? 0) - (session?.openedAt ?? 0);
  // 64 KiB read, plus what the kernel buffers on both sides; reading on for 5 s took tens of megabytes.
  t.ok(flooded < 16 * 1024 * 1024, `the flooding server got ${(flooded / 1024 / 1024).toFixed(1)} MiB in before the socket closed, ${lived} ms after it opened`);
});

t.test('an aborted attempt ends at once; what was accepted stays delivered', async (t) => {
  // The second message's final reply never comes; every deadline is far away.
  const { hostile, agent } = await rig(t, (stage, nth) => (stage === 'final' && nth === 2 ? 'never' : 'whole'), { finalReplyTimeoutSeconds: 600 });
  const first = outbound({ recipients: ['one@hostile.test', 'two@hostile.test'] });
  const second = outbound({ recipients: ['three@hostile.test'] });
  const delivered: DeliveryOutcome[] = [];
  const controller = new AbortController();
  const attempt = agent.deliver('hostile.test', [first, second], async (_queueId, outcome) => void delivered.push(outcome), controller.signal);
  await hostile.until(() => hostile.messages.length === 2);
  const abortedAt = Date.now();
  controller.abort('queue delete');
  const result = await attempt;
  const tookMs = Date.now() - abortedAt;
  t.same(delivered.map((o) => o.address).sort(), ['one@hostile.test', 'two@hostile.test'], 'the first message was accepted and recorded');
  t.match(result.get(first.queueId), [{ status: 'delivered' }, { status: 'delivered' }], 'and stays delivered');
  t.match(result.get(second.queueId), [{ status: 'deferred', enhancedCode: '4.3.0', reply: 'delivery attempt aborted: queue delete' }]);
  // Nothing else would have ended it for 10 minutes.
  t.ok(tookMs < 5000, `the attempt ended ${tookMs} ms after the abort`);
  const [session] = await hostile.ended(1);
  t.ok(session?.closedAt, 'the connection was dropped');
});

t.test('an attempt aborted while connecting or looking up ends at once too', async (t) => {
  const { agent } = await rig(t, () => 'whole', {});
  const controller = new AbortController();
  controller.abort();
  const message = outbound({ recipients: ['someone@hostile.test'] });
  const [outcome] = (await agent.deliver('hostile.test', [message], undefined, controller.signal)).get(message.queueId) ?? [];
  t.match(outcome, { status: 'deferred', enhancedCode: '4.3.0', reply: 'delivery attempt aborted' });
  t.equal(agent.outboundBlocked, false);
});
