// Power cuts while the outbound queue takes, delivers, defers and bounces mail (issue 14), in both
// modes of the power-cut file system: no acknowledged recipient ever nowhere. See powercut-queue.ts.
import t from 'tap';
import { cutsDuringQueueing } from '../helpers/powercut-queue.js';
import { needPowerCut } from '../helpers/powercut.js';
import { soak, soakCuts } from './soak.js';

const CUTS = soakCuts('queue', 40);

for (const mode of ['data', 'posix'] as const) {
  t.test(`${CUTS} power cuts while the queue works (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const tally = await soak(t, 'queue', mode, () => cutsDuringQueueing(t, mode, CUTS));
    if (!tally) return; // a peer (dnsmasq, smtp-sink) is missing: skipped
    t.ok(tally.acknowledged > 0 && tally.delivered > 0 && tally.bounced > 0, 'messages were acknowledged, delivered and bounced between the cuts');
    t.equal(tally.lost + tally.damaged, 0, 'no acknowledged recipient lost, no message damaged');
  });
}
