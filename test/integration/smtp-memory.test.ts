// Resident memory after a login storm and a connection flood (issue 6). The figures against the 100 MB
// target of a Pi Zero 2 W are the memory benchmark's (scripts/bench/memory.mjs, docs/PERFORMANCE.md):
// VmRSS moves with the machine, the kernel and the load beside the test, so here the bound is one that
// cannot flake, there to catch memory that is never given back. It does not tell the code before issue 6
// from the code after (about 100 MB here against 80-95; without the unit's malloc setting 180-230 MB
// against 130-180): the benchmark does.
// The appliance runs with the environment of its systemd unit, as it does on the box; tap's process
// tracking puts itself into every child's NODE_OPTIONS, so here it weighs some 25 MB more than there.
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, useUnitEnvironment } from '../helpers/appliance.js';
import { connectionFlood, loginStorm, residentMb } from '../helpers/attacks.js';

t.setTimeout(240_000);

const BOUND_MB = 150;

t.test(`resident memory stays under ${BOUND_MB} MB after a login storm and a connection flood`, async (t) => {
  useUnitEnvironment();
  const app = await startAppliance({ config: { smtp: { authFailureDelayMs: 1, authFailureMaxDelayMs: 1, authFailuresPerConnection: 10 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  const pid = app.child.pid!;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 3_000));

  await settle();
  const atStart = residentMb(pid);
  await loginStorm(app);
  await settle();
  const afterStorm = residentMb(pid);
  await connectionFlood(app, 1_000);
  await settle();
  const afterFlood = residentMb(pid);
  t.comment(`VmRSS: ${atStart.toFixed(0)} MB at start, ${afterStorm.toFixed(0)} MB after the login storm, ${afterFlood.toFixed(0)} MB after the flood`);
  t.ok(afterStorm < BOUND_MB, `after the login storm: ${afterStorm.toFixed(0)} MB`);
  t.ok(afterFlood < BOUND_MB, `after the connection flood: ${afterFlood.toFixed(0)} MB`);
  t.notOk(app.logs.some((l) => (l.level as number) >= 50), 'and nothing logged as a fault of ours');
});
