// Power cuts during the first start, where the store is created and the self-signed certificate is
// written: the next start always comes up and serves TLS, in both modes of the power-cut file system.
import t from 'tap';
import { cutsDuringFirstStart } from '../helpers/powercut-mail.js';
import { needPowerCut } from '../helpers/powercut.js';

// 2 x 20 first starts, each cut and started again: minutes.
t.setTimeout(600_000);

const CUTS = Number(process.env.LETTERBOX_POWERCUT_CUTS ?? 20);

for (const mode of ['data', 'posix'] as const) {
  t.test(`${CUTS} power cuts during the first start (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const result = await cutsDuringFirstStart(t, mode, CUTS);
    t.comment(JSON.stringify(result));
    t.ok(result.killedBeforeReady > 0, 'some cuts fell before the service was ready');
  });
}
