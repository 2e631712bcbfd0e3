// Many power cuts during SMTP acceptance (issue 14), in both modes: the scenario of
// test/integration/powercut-smtp-*.test.ts (powercut-mail.ts), with more cuts.
import t from 'tap';
import { cutsDuringAcceptance } from '../helpers/powercut-mail.js';
import { needPowerCut } from '../helpers/powercut.js';
import { soak, soakCuts } from './soak.js';

const CUTS = soakCuts('acceptance', 60);

for (const mode of ['data', 'posix'] as const) {
  t.test(`${CUTS} power cuts during SMTP acceptance (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const tally = await soak(t, 'acceptance', mode, () => cutsDuringAcceptance(t, mode, CUTS));
    if (!tally) return;
    t.ok(tally.acknowledged > 0, 'messages were acknowledged between the cuts');
    t.equal(tally.lost + tally.damaged, 0, 'no acknowledged message lost or damaged');
  });
}
