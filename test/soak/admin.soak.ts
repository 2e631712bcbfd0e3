// Power cuts right after `letterbox domain add`, `user add`, `user del`, `alias add` returned while
// `serve` runs (issue 14), in both modes: every change reported done is there after the cut.
import t from 'tap';
import { cutsAfterAdminChanges } from '../helpers/powercut-admin.js';
import { needPowerCut } from '../helpers/powercut.js';
import { soak, soakCuts } from './soak.js';

const CUTS = soakCuts('admin', 30);

for (const mode of ['data', 'posix'] as const) {
  t.test(`${CUTS} power cuts right after administrative changes (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const tally = await soak(t, 'admin', mode, () => cutsAfterAdminChanges(t, mode, CUTS));
    if (!tally) return;
    t.ok(tally.changes >= CUTS, 'changes were reported done before every cut');
    t.equal(tally.lost, 0, 'no change reported done was lost');
  });
}
