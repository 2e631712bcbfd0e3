// Power cuts right after an administrator's change (issue 14): `letterbox domain add`, `user add`,
// `user del` and `alias add` run while `serve` runs (so they go through the admin socket), on two
// connections at once; right after one of them returns, the appliance is killed and the power cut. A
// change the command reported done (exit 0) must be there after the cut; one whose command was cut
// short may be there or not, and is taken as found. Every name is used once, so each change is one
// definite fact about one name.
import type { Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunningAppliance } from './appliance.js';
import { applianceOnPowerCut, cutNow, type CutRecord } from './powercut-rounds.js';
import type { CutMode } from './powercut.js';

export interface AdminTally extends CutRecord {
  /** Changes reported done, by command, and in all. */
  confirmed: Record<string, number>;
  changes: number;
  /** Commands the cut interrupted (their outcome may go either way). */
  interrupted: number;
  lost: number;
}

type Kind = 'domain add' | 'user add' | 'user del' | 'alias add';

/** What the store must hold: per name, present or absent; undefined while a change to it is unsure. */
interface Model {
  domains: Map<string, boolean | undefined>;
  users: Map<string, boolean | undefined>;
  aliases: Map<string, boolean | undefined>;
  /** Names a command is working on now: no other command picks them. */
  busy: Set<string>;
}

const present = (map: Map<string, boolean | undefined>) => [...map].filter(([, state]) => state === true).map(([name]) => name);
const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** The next change to make, on names no other command is using; undefined when none fits. */
function nextChange(model: Model, name: string): { kind: Kind; args: string[]; stdin?: string; map: Map<string, boolean | undefined>; subject: string; after: boolean } | undefined {
  const domain = pick(present(model.domains).filter((d) => !model.busy.has(d)));
  const user = pick(present(model.users).filter((u) => !model.busy.has(u)));
  const roll = Math.random();
  if (roll < 0.15 || !domain) return { kind: 'domain add', args: ['domain', 'add', `${name}.test`], map: model.domains, subject: `${name}.test`, after: true };
  if (roll < 0.55 || !user) return { kind: 'user add', args: ['user', 'add', `${name}@${domain}`, '--password-stdin'], stdin: `password-${name}\n`, map: model.users, subject: `${name}@${domain}`, after: true };
  if (roll < 0.8) return { kind: 'alias add', args: ['alias', 'add', `${name}@${domain}`, user, `${name}@elsewhere.example`], map: model.aliases, subject: `${name}@${domain}`, after: true };
  return { kind: 'user del', args: ['user', 'del', user], map: model.users, subject: user, after: false };
}

/**
 * Changes one after another until `stop()` says so; `cutAfter` changes reported done end the round
 * (the caller kills the appliance). Returns the changes reported done and the commands cut short.
 */
async function changeLoop(app: RunningAppliance, model: Model, prefix: string, state: { cutting: boolean }, cutAfter: number, onCut: () => void, t: Test) {
  const done: { kind: Kind; map: Map<string, boolean | undefined>; subject: string; after: boolean }[] = [];
  let interrupted = 0;
  for (let n = 0; !state.cutting; n++) {
    const change = nextChange(model, `${prefix}n${n}`);
    if (!change) return { done, interrupted };
    model.busy.add(change.subject);
    change.map.set(change.subject, undefined);
    const result = await app.cli(change.args, change.stdin);
    model.busy.delete(change.subject);
    if (result.code === 0) {
      change.map.set(change.subject, change.after);
      done.push(change);
      if (done.length === cutAfter) onCut();
    } else if (state.cutting) {
      interrupted += 1; // cut short: either outcome is right, the check after the cut adopts what it finds
    } else {
      t.fail(`${change.args.join(' ')} failed while the appliance ran: ${result.stderr}`);
      return { done, interrupted };
    }
  }
  return { done, interrupted };
}

/** `domain list`, `user list`, `alias list` of the stopped appliance (the CLI opens the store itself). */
async function listed(app: RunningAppliance): Promise<{ domains: Set<string>; users: Set<string>; aliases: Set<string> }> {
  const run = async (noun: string) => {
    const result = await app.cli([noun, 'list', '--json']);
    if (result.code !== 0) throw new Error(`${noun} list failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as unknown[];
  };
  return {
    domains: new Set(await run('domain') as string[]),
    users: new Set((await run('user') as { address: string }[]).map((u) => u.address)),
    aliases: new Set((await run('alias') as { alias: string }[]).map((a) => a.alias)),
  };
}

/**
 * `cuts` rounds: two connections making changes, the appliance killed and the power cut right after
 * the round's 1–6th change reported done on the first, `letterbox check`, every change reported done
 * looked for, the appliance started again. Asserts as it goes; returns the tally.
 */
export async function cutsAfterAdminChanges(t: Test, mode: CutMode, cuts: number): Promise<AdminTally> {
  const { fs, app } = await applianceOnPowerCut(t, mode);
  const model: Model = { domains: new Map(), users: new Map(), aliases: new Map(), busy: new Set() };
  const tally: AdminTally = { cuts: 0, droppedBytes: 0, droppedNames: 0, confirmed: {}, changes: 0, interrupted: 0, lost: 0 };
  for (let round = 0; round < cuts; round++) {
    const state = { cutting: false };
    let killed!: Promise<unknown>;
    const cutAfter = 1 + Math.floor(Math.random() * 6);
    const onCut = () => {
      state.cutting = true;
      killed = app.stop('SIGKILL');
    };
    // The second connection starts a moment later, so that its commands fall at other instants.
    const loops = [changeLoop(app, model, `${mode}r${round}a`, state, cutAfter, onCut, t), sleep(Math.random() * 300).then(() => changeLoop(app, model, `${mode}r${round}b`, state, Infinity, onCut, t))];
    const results = await Promise.all(loops);
    if (!state.cutting) throw new Error(`round ${round + 1}: no cut (a command failed)`);
    await killed;
    for (const { done, interrupted } of results) {
      tally.interrupted += interrupted;
      for (const change of done) tally.confirmed[change.kind] = (tally.confirmed[change.kind] ?? 0) + 1;
      tally.changes += done.length;
    }
    const label = `cut ${round + 1} (${mode})`;
    const pending = await cutNow(t, fs, tally, label, app);
    const found = await listed(app);
    for (const [map, names, what] of [[model.domains, found.domains, 'domain'], [model.users, found.users, 'user'], [model.aliases, found.aliases, 'alias']] as const) {
      for (const [name, expected] of map) {
        const there = names.has(name);
        if (expected !== undefined && expected !== there) {
          tally.lost += 1;
          t.fail(`${label}: ${what} ${name} should be ${expected ? 'there' : 'gone'} (its command reported done) but is ${there ? 'there' : 'gone'}`, { pending });
        }
        map.set(name, there);
      }
    }
    await app.restart();
  }
  return tally;
}
