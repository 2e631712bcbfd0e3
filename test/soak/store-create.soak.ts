// Power cuts while the store is created (issue 14): the narrowest part of the first start, alone, so a
// cut lands in it far more often than in first-start.soak.ts (which found this window: once in 30 cuts,
// the next start could not open the store, "Corruption: no meta-nextfile entry in descriptor"). A child
// process opens a new store with Store.open (dist/) and is killed at a random instant of that open;
// after the cut the store must open, whatever was left. On a failure the test prints what the cut had
// dropped (PowerCutFs.pending()) and the files left in the store directory.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { Store } from '../../src/store/index.js';
import { mountPowerCutFs, needPowerCut, type CutMode } from '../helpers/powercut.js';
import { soak, soakCuts } from './soak.js';

const CUTS = soakCuts('store-create', 100);
const STORE_MODULE = fileURLToPath(new URL('../../dist/store/index.js', import.meta.url));
/** Prints when it starts to open and when the store is open, then waits to be killed. */
const OPENER = `const { Store } = await import(process.argv[1]); console.log('opening'); await Store.open(process.argv[2]); console.log('open'); setInterval(() => {}, 60000);`;

/**
 * Spawns the opener; records when it printed each line (ms after the spawn); `opened` resolves once the
 * store is open or the child has exited, `exited` at its exit.
 */
function opener(location: string) {
  const began = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', OPENER, STORE_MODULE, location], { stdio: ['ignore', 'pipe', 'inherit'] });
  const at: Record<string, number> = {};
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const opened = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) at[line] ??= Date.now() - began;
      if (at.open !== undefined) resolve();
    });
    void exited.then(resolve);
  });
  return { child, at, opened, exited };
}

function listing(dir: string): Record<string, number> {
  try {
    return Object.fromEntries(readdirSync(dir).map((name) => [name, statSync(join(dir, name)).size]));
  } catch (err) {
    return { [`(${(err as NodeJS.ErrnoException).code})`]: 0 };
  }
}

/** `cuts` new stores, each opened by a child killed at a random instant of the open, then the cut. */
async function cutsDuringStoreCreation(t: Test, mode: CutMode, cuts: number) {
  const fs = await mountPowerCutFs(mode);
  t.teardown(() => fs.unmount());
  // An uncut creation measures the open: the cuts fall between 'opening' and a little after 'open'.
  const probe = opener(join(fs.mountpoint, 'probe', 'store'));
  await probe.opened;
  const from = probe.at.opening ?? 0;
  const span = Math.max(5, (probe.at.open ?? 200) - from);
  probe.child.kill('SIGKILL');
  await probe.exited;
  const figures = { cuts: 0, droppedBytes: 0, droppedNames: 0, failures: 0 };
  for (let round = 1; round <= cuts; round++) {
    const location = join(fs.mountpoint, `s${round}`, 'store');
    const run = opener(location);
    await sleep(from + Math.random() * span * 1.2);
    run.child.kill('SIGKILL');
    await run.exited;
    const pending = await fs.pending();
    const dropped = await fs.cut();
    figures.cuts += 1;
    figures.droppedBytes += dropped.droppedBytes;
    figures.droppedNames += dropped.droppedNames;
    try {
      const store = await Store.open(location);
      const report = await store.check({ bodies: true }).finally(() => store.close());
      if (!report.consistent) figures.failures += 1;
      t.equal(report.consistent, true, `cut ${round} (${mode}, ${run.at.open === undefined ? 'before' : 'after'} the open returned): the store opens and is consistent`, { pending, report });
    } catch (err) {
      figures.failures += 1;
      t.fail(`cut ${round} (${mode}): the store does not open after the cut: ${(err as Error).message}`, { pending, left: listing(location) });
    }
  }
  return figures;
}

for (const mode of ['data', 'posix'] as const) {
  t.test(`${CUTS} power cuts while a new store is created (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const figures = await soak(t, 'store-create', mode, () => cutsDuringStoreCreation(t, mode, CUTS));
    t.equal(figures?.failures, 0, 'the store opened after every cut');
  });
}
