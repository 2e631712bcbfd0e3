// Many power cuts during the first start (issue 14), in both modes: the scenario of
// test/integration/powercut-first-start.test.ts (powercut-mail.ts), with more cuts. The store's
// creation alone, cut far more often, is store-create.soak.ts.
import t from 'tap';
import { cutsDuringFirstStart } from '../helpers/powercut-mail.js';
import { needPowerCut } from '../helpers/powercut.js';
import { soak, soakCuts } from './soak.js';

const CUTS = soakCuts('first-start', 30);

for (const mode of ['data', 'posix'] as const) {
  t.test(`${CUTS} power cuts during the first start (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const result = await soak(t, 'first-start', mode, () => cutsDuringFirstStart(t, mode, CUTS));
    if (!result) return;
    t.ok(result.killedBeforeReady > 0, 'some cuts fell before the service was ready');
  });
}
