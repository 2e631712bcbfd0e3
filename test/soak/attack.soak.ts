// The SMTP attack battery of issue 6, round after round against one appliance (`npm run soak -- attack`):
// a login storm, a flood of connections dropped at every stage, harvesting from several addresses and
// command lines trickled a byte a second. What must hold over the whole run, not only once: a real
// message is still taken after every round, memory comes back down (no growth from round to round),
// the log stays bounded, and nothing is logged as a fault of ours. LETTERBOX_SOAK_CUTS_ATTACK sets the
// number of rounds (the soak's knob is named for power cuts; here a round is the unit).
import { connect } from 'node:net';
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { provision, startAppliance, type RunningAppliance, useUnitEnvironment } from '../helpers/appliance.js';
import { connectionFlood, harvest, loginStorm, repeat, residentMb } from '../helpers/attacks.js';
import { compose } from '../helpers/messages.js';
import { SmtpClient } from '../helpers/smtp.js';
import { soak, soakCuts } from './soak.js';

const ROUNDS = soakCuts('attack', 10);
/** Growth of resident memory from the first round to the last that would mean something is kept. */
const GROWTH_BOUND_MB = 30;

/** `count` connections from one address that send a command line a byte a second until they are closed. */
async function trickledCommands(app: RunningAppliance, count: number, localAddress: string): Promise<void> {
  await repeat(count, count, () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: app.ports.smtp, localAddress });
      const line = 'EHLO slow.client.test\r\n';
      let sent = 0;
      const timer = setInterval(() => socket.write(line[sent++ % line.length] ?? ''), 1000);
      socket.on('error', () => {});
      socket.once('close', () => {
        clearInterval(timer);
        resolve();
      });
    }),
  );
}

/** A real message from a fresh address, after a round: the reply to its DATA. */
async function realMessage(app: RunningAppliance, round: number): Promise<number> {
  const client = await SmtpClient.connect(app.ports.smtp, { localAddress: `127.0.3.${1 + (round % 200)}` });
  await client.ehlo();
  const replies = await client.transaction('colleague@remote.test', [ALICE], compose({ from: 'colleague@remote.test', to: [ALICE], subject: `after round ${round}` }));
  await client.quit();
  return replies.at(-1)?.code ?? 0;
}

t.test(`${ROUNDS} rounds of the SMTP attack battery`, async (t) => {
  useUnitEnvironment();
  const app = await startAppliance({
    config: { smtp: { authFailureDelayMs: 1, authFailureMaxDelayMs: 1, authFailuresPerConnection: 10, commandTimeoutSeconds: 5, unknownRecipientsBeforeDelay: 3, unknownRecipientLimit: 20 } },
  });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  const pid = app.child.pid!;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 3_000));

  const figures = await soak(t, 'attack', 'battery', async () => {
    await settle();
    const atStart = residentMb(pid);
    const afterRound: number[] = [];
    const logBytes: number[] = [];
    let accepted = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const firstLine = app.logs.length;
      await loginStorm(app);
      await connectionFlood(app, 1_000);
      await Promise.all([1, 2, 3, 4, 5].map((i) => harvest(app, DOMAIN, 100, `127.0.4.${i}`)));
      await trickledCommands(app, 20, '127.0.5.1');
      if ((await realMessage(app, round)) === 250) accepted += 1;
      await settle();
      afterRound.push(residentMb(pid));
      logBytes.push(app.logs.slice(firstLine).reduce((sum, line) => sum + JSON.stringify(line).length + 1, 0));
      t.comment(`round ${round}: ${afterRound.at(-1)?.toFixed(0)} MB resident, ${logBytes.at(-1)} bytes of log`);
    }
    const first = afterRound[0] ?? atStart;
    const last = afterRound.at(-1) ?? atStart;
    return {
      rounds: ROUNDS,
      accepted,
      rssStartMb: Math.round(atStart),
      rssMaxMb: Math.round(Math.max(...afterRound)),
      rssEndMb: Math.round(last),
      growthMb: Math.round(last - first),
      logKbPerRound: Math.round(Math.max(...logBytes) / 1024),
    };
  });
  if (!figures) return;
  t.equal(figures.accepted, ROUNDS, 'a real message was taken after every round');
  t.ok(figures.growthMb < GROWTH_BOUND_MB, `resident memory grew ${figures.growthMb} MB from the first round to the last`);
  t.ok(figures.logKbPerRound < 256, `at most ${figures.logKbPerRound} KB of log per round`);
  t.notOk(app.logs.some((l) => (l.level as number) >= 50), 'nothing logged as a fault of ours');
});
