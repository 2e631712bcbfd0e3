// What every power-cut scenario does around its cut (issue 14): the appliance on a fresh power-cut file
// system with its configuration outside it, and, once the appliance is killed, the cut itself with what
// it dropped counted, and `letterbox check` on what is left. The scenarios (powercut-mail.ts,
// powercut-queue.ts, powercut-admin.ts) differ only in what runs before the cut and what they look for after it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startAppliance, type RunningAppliance } from './appliance.js';
import { mountPowerCutFs, type CutMode, type PendingChanges, type PowerCutFs } from './powercut.js';

/** What the cuts of one scenario dropped. */
export interface CutRecord {
  cuts: number;
  droppedBytes: number;
  droppedNames: number;
}

/** A directory for the appliance's configuration outside the power-cut file system, removed with `t`. */
export function configDirFor(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-powercut-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The appliance on a fresh power-cut file system (config merged over appliance.ts's), its configuration
 * outside it; torn down with `t`. The data directory's own name is made durable by the appliance (it
 * creates it), as on a fresh card.
 */
export async function applianceOnPowerCut(t: Test, mode: CutMode, config: Record<string, unknown> = {}): Promise<{ fs: PowerCutFs; app: RunningAppliance }> {
  const configDir = configDirFor(t);
  const fs = await mountPowerCutFs(mode);
  const holder: { app?: RunningAppliance } = {};
  t.teardown(async () => {
    await holder.app?.stop('SIGKILL');
    await fs.unmount();
  });
  holder.app = await startAppliance({ dataDir: join(fs.mountpoint, 'letterbox'), configDir, config });
  return { fs, app: holder.app };
}

/**
 * The cut, once every writer is gone (the appliance killed, any `letterbox` command exited), then
 * `letterbox check --json`, which must find the store consistent. Returns what the cut dropped, per
 * file and directory, for the diagnostics of a later failure.
 */
export async function cutNow(t: Test, fs: PowerCutFs, record: CutRecord, label: string, app: RunningAppliance): Promise<PendingChanges> {
  const pending = await fs.pending();
  const dropped = await fs.cut();
  record.cuts += 1;
  record.droppedBytes += dropped.droppedBytes;
  record.droppedNames += dropped.droppedNames;
  const check = await app.cli(['check', '--json']);
  t.equal(check.code, 0, `${label}: letterbox check finds the store consistent`, { stdout: check.stdout.slice(0, 2000), stderr: check.stderr, pending });
  return pending;
}
