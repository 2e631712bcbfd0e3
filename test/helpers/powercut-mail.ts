// Power cuts during SMTP acceptance (issue 14): the appliance's data directory on the power-cut file
// system (powercut.ts), senders delivering messages of mixed sizes on four connections, the power cut
// at a random instant, then the checks that matter: `letterbox check` finds the store consistent, and
// every message that got its `250` is in its mailboxes, byte for byte.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import tap, { type Test } from 'tap';
import { CHUNK_SIZE } from '../../src/store/index.js';
import { unusable } from '../../src/tls/certificate.js';
import { ALICE, BOB, DOMAIN } from './addresses.js';
import { CLI, provision, startAppliance, type RunningAppliance } from './appliance.js';
import { readMessage, withStore, withoutTrace } from './mailbox.js';
import { tokenMessage } from './messages.js';
import { applianceOnPowerCut, configDirFor, cutNow, type CutRecord } from './powercut-rounds.js';
import { mountPowerCutFs, needPowerCut, type CutMode } from './powercut.js';

const SENDER = 'sender@elsewhere.test';
/** One chunk, one chunk, two chunks, four chunks: the commit paths for short and long messages. */
const SIZES = [600, 20_000, CHUNK_SIZE + 3_000, 3 * CHUNK_SIZE + 17];
const SENDERS = 4;

/** What the file system dropped over all cuts (CutRecord), and what became of the messages. */
export interface Tally extends CutRecord {
  acknowledged: number;
  lost: number;
  damaged: number;
}

interface Sent {
  digest: string;
  to: string[];
}

function digest(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Senders on `SENDERS` connections until stopped; resolves with what got a 250. */
function startSenders(app: RunningAppliance, round: string): { stop: () => Promise<Map<string, Sent>> } {
  const acknowledged = new Map<string, Sent>();
  let running = true;
  const loops = Array.from({ length: SENDERS }, async (_, sender) => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtp, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, connectionTimeout: 5_000, socketTimeout: 10_000 });
    try {
      for (let n = 0; running; n++) {
        const token = `${round}-s${sender}-m${n}`;
        const to = n % 3 === 2 ? [ALICE, BOB] : [n % 2 ? BOB : ALICE];
        const raw = tokenMessage(token, { from: SENDER, to, size: SIZES[(n + sender) % SIZES.length] as number });
        try {
          await transport.sendMail({ envelope: { from: SENDER, to }, raw });
          acknowledged.set(token, { digest: digest(raw), to });
        } catch {
          return; // the power went: whatever had no 250 was never promised
        }
      }
    } finally {
      transport.close();
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return acknowledged;
    },
  };
}

/** Every stored message of the users, by its Subject token; each read once and remembered. */
class MailboxReader {
  private readonly seen = new Map<string, { token: string; digest: string }>();

  async tokens(app: RunningAppliance): Promise<Map<string, { digest: string; users: Set<string> }>> {
    const found = new Map<string, { digest: string; users: Set<string> }>();
    await withStore(app.dataDir, async (store) => {
      for (const user of [ALICE, BOB]) {
        for (const entry of await store.listMailbox(user, 'INBOX')) {
          let known = this.seen.get(entry.messageId);
          if (!known) {
            const bytes = withoutTrace(await readMessage(store, entry.messageId));
            const token = /^Subject: (\S+)\r$/m.exec(bytes.toString('latin1'))?.[1] ?? `unreadable ${entry.messageId}`;
            known = { token, digest: digest(bytes) };
            this.seen.set(entry.messageId, known);
          }
          const mail = found.get(known.token) ?? { digest: known.digest, users: new Set<string>() };
          mail.users.add(user);
          found.set(known.token, mail);
        }
      }
    });
    return found;
  }
}

/**
 * `cuts` rounds of: senders running, the power cut after a random 100–700 ms, `letterbox check`, every
 * acknowledged message looked for, the appliance started again. Asserts as it goes; returns the tally.
 */
export async function cutsDuringAcceptance(t: Test, mode: CutMode, cuts: number): Promise<Tally> {
  const { fs, app } = await applianceOnPowerCut(t, mode);
  await provision(app, [DOMAIN], [ALICE, BOB]);
  const tally: Tally = { cuts: 0, acknowledged: 0, lost: 0, damaged: 0, droppedBytes: 0, droppedNames: 0 };
  const promised = new Map<string, Sent>();
  const reader = new MailboxReader();
  for (let round = 0; round < cuts; round++) {
    const senders = startSenders(app, `${mode}${round}`);
    // The instant of the cut is the random variable here, not a race the test must win.
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 600));
    await app.stop('SIGKILL');
    for (const [token, sent] of await senders.stop()) promised.set(token, sent);
    await cutNow(t, fs, tally, `cut ${round + 1}`, app);
    const stored = await reader.tokens(app);
    for (const [token, sent] of promised) {
      const mail = stored.get(token);
      if (!mail || sent.to.some((user) => !mail.users.has(user))) {
        tally.lost += 1;
        t.fail(`cut ${round + 1}: acknowledged message ${token} is not in every mailbox of ${sent.to.join(', ')}`);
        promised.delete(token);
      } else if (mail.digest !== sent.digest) {
        tally.damaged += 1;
        t.fail(`cut ${round + 1}: acknowledged message ${token} is damaged`);
        promised.delete(token);
      }
    }
    await app.restart();
  }
  tally.acknowledged = promised.size + tally.lost + tally.damaged;
  // The users and the domain, set up once through the CLI before the first cut, survived them all.
  const users = await app.cli(['user', 'list', '--json']);
  t.same((JSON.parse(users.stdout) as { address: string }[]).map((u) => u.address).sort(), [ALICE, BOB], 'the CLI\'s changes survived every cut');
  return tally;
}

/** A TLS handshake on port 465 completes; resolves with the protocol. */
function handshake(port: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getProtocol());
      socket.end();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no TLS handshake in 10 s')));
    socket.once('error', reject);
  });
}

/**
 * `cuts` first starts, each on a new data directory, each cut at a random instant before it is ready
 * (where the store is created and the self-signed certificate written); then a start that must come
 * up, serve TLS, and have a store that `letterbox check` finds consistent.
 */
export async function cutsDuringFirstStart(t: Test, mode: CutMode, cuts: number): Promise<{ cuts: number; killedBeforeReady: number }> {
  const fs = await mountPowerCutFs(mode);
  let app: RunningAppliance | undefined;
  let starting: ChildProcess | undefined;
  t.teardown(async () => {
    starting?.kill('SIGKILL');
    await app?.stop('SIGKILL');
    await fs.unmount();
  });
  const configDir = configDirFor(t);
  // An uncut first start measures how long one takes: the cuts fall anywhere in it.
  const began = Date.now();
  app = await startAppliance({ dataDir: join(fs.mountpoint, 'first-0'), configDir });
  const startupMs = Date.now() - began;
  await app.stop('SIGKILL');
  let killedBeforeReady = 0;
  for (let round = 1; round <= cuts; round++) {
    const dataDir = join(fs.mountpoint, `first-${round}`);
    const configFile = join(configDir, `config-${round}.json`);
    writeFileSync(configFile, readFileSync(app.configFile, 'utf8').replace(/"dataDir": "[^"]*"/, `"dataDir": ${JSON.stringify(dataDir)}`));
    starting = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'ignore'] });
    let ready = false;
    starting.stdout?.on('data', (chunk: Buffer) => (ready ||= chunk.includes('letterbox ready')));
    const exited = new Promise((resolve) => starting?.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * startupMs));
    starting.kill('SIGKILL');
    await exited;
    if (!ready) killedBeforeReady += 1;
    await fs.cut();

    app = await startAppliance({ dataDir, configDir });
    t.match(await handshake(app.ports.smtps), /^TLSv1\.[23]$/, `cut ${round}: port 465 completes a TLS handshake`);
    const tls = join(dataDir, 'tls');
    t.equal(unusable(readFileSync(join(tls, 'cert.pem'), 'utf8'), readFileSync(join(tls, 'key.pem'), 'utf8')), undefined, `cut ${round}: the certificate and key on disk belong together`);
    const check = await app.cli(['check']);
    t.equal(check.code, 0, `cut ${round}: the store is consistent`, { stdout: check.stdout });
    await app.stop('SIGKILL');
  }
  return { cuts, killedBeforeReady };
}

/** The test of one mode, in a file of its own so that tap runs the two modes side by side. */
export function testCutsDuringAcceptance(mode: CutMode): void {
  const cuts = Number(process.env.LETTERBOX_POWERCUT_CUTS ?? 20);
  tap.test(`${cuts} power cuts during SMTP acceptance (${mode})`, async (t) => {
    if (!needPowerCut(t)) return;
    const tally = await cutsDuringAcceptance(t, mode, cuts);
    t.comment(JSON.stringify(tally));
    t.ok(tally.acknowledged > 0, 'messages were acknowledged between the cuts');
    t.equal(tally.lost + tally.damaged, 0, 'no acknowledged message lost or damaged');
  });
}
