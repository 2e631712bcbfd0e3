// Power cuts while the outbound queue works (issue 14). The appliance's data directory is on the
// power-cut file system (powercut.ts); a logged-in user submits mail on 587 and a local alias forwards
// mail from port 25, both to remote domains whose MX (Postfix's smtp-sink, which keeps every message
// it accepted in a file) accepts, defers (450) or refuses (550, so a bounce DSN goes into the local
// sender's INBOX). Submission and delivery run together, the power is cut at a random instant, and
// then every recipient of every acknowledged message must be accounted for somewhere (see `account`).
// The deferring MX takes turns with an accepting one between cuts, so deferred recipients are later
// delivered, under cuts too; at the end the queue is drained and every recipient must be final.
// LETTERBOX_SOAK_DEBUG=1 prints why each sender stopped (it should be the kill, at the kill's time).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import type { Test } from 'tap';
import { CHUNK_SIZE } from '../../src/store/index.js';
import { ALICE, BOB, DOMAIN } from './addresses.js';
import { passwordOf, provision, type RunningAppliance } from './appliance.js';
import { startDnsmasq } from './dnsmasq.js';
import { readMessage, withStore, withoutTrace } from './mailbox.js';
import { tokenMessage } from './messages.js';
import { portFreeOnAll } from './ports.js';
import { applianceOnPowerCut, cutNow, type CutRecord } from './powercut-rounds.js';
import type { CutMode, PendingChanges } from './powercut.js';
import { TEST_QUEUE, startDumpSink, waitForEmptyQueue, withoutReceived, type DumpSink } from './queue.js';

/** Loopback addresses of their own, so other tests' MTAs on 127.0.0.x never share a port with these. */
const MX = { accept: '127.0.14.2', defer: '127.0.14.3', refuse: '127.0.14.4' } as const;
/** Port 25 mail from bob to these is forwarded: every forwarded message has a remote recipient that stays. */
const ALIASES: Record<string, string[]> = {
  [`fwd1@${DOMAIN}`]: ['fwd1@accept.test', 'fwd1@defer.test'],
  [`fwd2@${DOMAIN}`]: ['fwd2@refuse.test', 'fwd2@accept.test'],
};
/** What alice submits, in turn: each outcome alone, all three in one message, remote with local. */
const SUBMISSIONS = [['ann@accept.test'], ['dan@defer.test'], ['ray@refuse.test'], ['amy@accept.test', 'dot@defer.test', 'rex@refuse.test'], ['abe@accept.test', BOB], ['don@defer.test', 'rob@refuse.test']];
/** One chunk, one chunk, two chunks: the store's short and long paths, and a DATA of several packets. */
const SIZES = [700, 30_000, CHUNK_SIZE + 5_000];
/** A recipient the queue still owes an attempt. */
const PENDING = new Set(['queued', 'inflight', 'deferred']);

export interface QueueTally extends CutRecord {
  /** Messages that got their 250, and their recipients (remote and local). */
  acknowledged: number;
  recipients: number;
  /** After the final drain: recipients with a copy at the far side, with a DSN, in a local mailbox. */
  delivered: number;
  bounced: number;
  local: number;
  lost: number;
  damaged: number;
  /** Extra copies at the far side (SMTP's at-least-once: a cut between its 250 and our record). */
  duplicates: number;
  /** Extra DSNs for the same recipient. */
  duplicateDsns: number;
}

interface Sent {
  sender: string;
  /** sha256 of the message as sent (CRLF), and with LF line ends as smtp-sink stores it. */
  digest: string;
  digestLf: string;
  remote: string[];
  local: string[];
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The deferring MX and its accepting stand-in, swapped only while the appliance is down. */
class DeferringDomain {
  private current: DumpSink | null = null;
  readonly accepted: DumpSink[] = [];
  constructor(private readonly t: Test, private readonly port: number) {}

  async set(phase: 'defer' | 'accept'): Promise<void> {
    await this.current?.stop();
    const options = phase === 'defer' ? ['-r', 'RCPT', '-b', '450 4.2.1 Mailbox busy, try later'] : [];
    this.current = await startDumpSink(this.t, { host: MX.defer, port: this.port, hostname: 'mx.defer.test', options });
    if (!this.current) throw new Error('smtp-sink is missing');
    if (phase === 'accept') this.accepted.push(this.current);
  }
}

/** Senders until stopped: alice on 587 (two connections), bob on 25 to the aliases; what got a 250. */
function startSenders(app: RunningAppliance, round: string, refusals: string[]): { stop: () => Promise<Map<string, Sent>> } {
  const acknowledged = new Map<string, Sent>();
  let running = true;
  const loop = async (name: string, submission: boolean, offset: number) => {
    const from = submission ? ALICE : BOB;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: submission ? app.ports.submission : app.ports.smtp,
      secure: false,
      ...(submission ? { requireTLS: true, auth: { user: ALICE, pass: passwordOf(ALICE) } } : { ignoreTLS: true }),
      tls: { rejectUnauthorized: false },
      pool: true,
      maxConnections: 1,
      connectionTimeout: 5_000,
      socketTimeout: 10_000,
    });
    try {
      for (let n = 0; running; n++) {
        const token = `soak-${round}-${name}-m${n}`;
        const to = submission ? (SUBMISSIONS[(n + offset) % SUBMISSIONS.length] as string[]) : [Object.keys(ALIASES)[n % 2] as string];
        const raw = tokenMessage(token, { from, to, size: SIZES[(n + offset) % SIZES.length] as number });
        let info: { rejected: unknown[] };
        try {
          info = await transport.sendMail({ envelope: { from, to }, raw });
        } catch (err) {
          if (process.env.LETTERBOX_SOAK_DEBUG) console.error(Date.now(), name, String(err));
          return; // the power went: what had no 250 was never promised
        }
        if (info.rejected.length > 0) {
          refusals.push(`${token}: ${JSON.stringify(info.rejected)}`);
          return;
        }
        const expanded = to.flatMap((r) => ALIASES[r] ?? [r]);
        acknowledged.set(token, { sender: from, digest: sha256(raw), digestLf: sha256(raw.replace(/\r\n/g, '\n')), remote: expanded.filter((r) => !r.endsWith(`@${DOMAIN}`)), local: expanded.filter((r) => r.endsWith(`@${DOMAIN}`)) });
      }
    } finally {
      transport.close();
    }
  };
  const loops = [loop('a0', true, 0), loop('a1', true, 3), loop('b', false, 1)];
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return acknowledged;
    },
  };
}

/** Where each recipient of each message is now, as (token, recipient) keys. */
interface Whereabouts {
  /** Copies at the far side; damaged copies counted apart. */
  copies: Map<string, number>;
  dsns: Map<string, number>;
  pending: Set<string>;
  /** Local mailbox copies, with their digest. */
  local: Map<string, string>;
  /** Tokens with a queued or far-side copy whose bytes differ from what was sent. */
  damaged: Set<string>;
}

const key = (token: string, recipient: string) => `${token} ${recipient}`;
const bump = (map: Map<string, number>, k: string) => map.set(k, (map.get(k) ?? 0) + 1);

/** Reads the stopped appliance's store and the far side. Message bytes are read once per message id. */
class Observer {
  private readonly bodies = new Map<string, { token: string; digest: string; report: boolean; text: string }>();
  constructor(private readonly sinks: () => DumpSink[]) {}

  private async read(store: Parameters<Parameters<typeof withStore>[1]>[0], messageId: string) {
    let known = this.bodies.get(messageId);
    if (!known) {
      const bytes = withoutTrace(await readMessage(store, messageId));
      const text = bytes.toString('latin1');
      const head = text.slice(0, text.indexOf('\r\n\r\n') + 2);
      const report = /^Content-Type: multipart\/report/im.test(head);
      const token = /^Subject: (soak-\S+)\r$/m.exec(report ? text : head)?.[1] ?? '';
      // A DSN's text is kept for its Final-Recipient fields; a plain message only by digest.
      known = { token, digest: sha256(bytes), report, text: report ? text : '' };
      this.bodies.set(messageId, known);
    }
    return known;
  }

  async observe(app: RunningAppliance, sent: Map<string, Sent>): Promise<Whereabouts> {
    const seen: Whereabouts = { copies: new Map(), dsns: new Map(), pending: new Set(), local: new Map(), damaged: new Set() };
    await withStore(app.dataDir, async (store) => {
      for (const entry of await store.listQueue()) {
        const body = await this.read(store, entry.messageId);
        if (sent.has(body.token) && sent.get(body.token)?.digest !== body.digest) seen.damaged.add(body.token);
        for (const r of entry.recipients) if (PENDING.has(r.state)) seen.pending.add(key(body.token, r.address));
      }
      for (const user of [ALICE, BOB]) {
        for (const entry of await store.listMailbox(user, 'INBOX')) {
          const body = await this.read(store, entry.messageId);
          if (!body.report) {
            seen.local.set(key(body.token, user), body.digest);
            continue;
          }
          for (const match of body.text.matchAll(/^Final-Recipient: rfc822;\s*(\S+)\r$/gim)) bump(seen.dsns, key(body.token, match[1] as string));
        }
      }
    });
    for (const mail of this.sinks().flatMap((sink) => sink.mails())) {
      const wanted = sent.get(mail.subject);
      if (wanted && wanted.digestLf !== sha256(withoutReceived(mail.message))) seen.damaged.add(mail.subject);
      for (const recipient of mail.recipients) bump(seen.copies, key(mail.subject, recipient));
    }
    return seen;
  }
}

/**
 * Every recipient of every acknowledged message is at the far side, bounced with a DSN to its sender,
 * in its local mailbox, or still owed an attempt by the queue; `final` (after the drain) admits no
 * pending one. Fails `t` for each one that is nowhere (with what the cut had dropped), and forgets it
 * so it is reported once.
 */
function account(t: Test, label: string, sent: Map<string, Sent>, seen: Whereabouts, tally: QueueTally, final: boolean, pending?: PendingChanges): void {
  for (const [token, message] of sent) {
    const badLocal = message.local.filter((r) => seen.local.has(key(token, r)) && seen.local.get(key(token, r)) !== message.digest);
    if (seen.damaged.has(token) || badLocal.length > 0) {
      tally.damaged += 1;
      t.fail(`${label}: acknowledged message ${token} is damaged (in the queue, a mailbox or at the far side)`, { pending });
      sent.delete(token);
      continue;
    }
    const missing = [
      ...message.remote.filter((r) => !seen.copies.has(key(token, r)) && !seen.dsns.has(key(token, r)) && (final || !seen.pending.has(key(token, r)))),
      ...message.local.filter((r) => !seen.local.has(key(token, r))),
    ];
    if (missing.length > 0) {
      tally.lost += 1;
      t.fail(`${label}: acknowledged message ${token} is lost for ${missing.join(', ')}${final ? ' (or still queued after the drain)' : ''}`, { pending });
      sent.delete(token);
    }
  }
}

/** The scenario's far side: DNS, the three MXs. Null when a tool is missing (the test was skipped). */
async function remoteSide(t: Test) {
  const port = await portFreeOnAll(Object.values(MX));
  const dns = await startDnsmasq(t, {
    mx: (['accept', 'defer', 'refuse'] as const).map((name) => ({ domain: `${name}.test`, host: `mx.${name}.test`, preference: 10 })),
    hosts: (['accept', 'defer', 'refuse'] as const).map((name) => ({ name: `mx.${name}.test`, addresses: [MX[name]] })),
  });
  const accept = await startDumpSink(t, { host: MX.accept, port, hostname: 'mx.accept.test' });
  const refuse = await startDumpSink(t, { host: MX.refuse, port, hostname: 'mx.refuse.test', options: ['-f', 'RCPT', '-B', '550 5.1.1 No such user here'] });
  if (!dns || !accept || !refuse) return null;
  return { port, dns, accept, refuse, defer: new DeferringDomain(t, port) };
}

/**
 * `cuts` rounds of: senders and deliveries running, the power cut after 0.3–2.3 s, `letterbox check`,
 * every recipient accounted for, the deferring MX swapped, the appliance started again. Then the queue
 * is drained and every recipient must be delivered or bounced. Asserts as it goes; returns the tally.
 */
export async function cutsDuringQueueing(t: Test, mode: CutMode, cuts: number): Promise<QueueTally | null> {
  const remote = await remoteSide(t);
  if (!remote) return null;
  await remote.defer.set('defer');
  const config = { dns: { servers: [remote.dns.server] }, delivery: { mxPort: remote.port }, queue: TEST_QUEUE };
  const { fs, app } = await applianceOnPowerCut(t, mode, config);
  await provision(app, [DOMAIN], [ALICE, BOB]);
  for (const [alias, targets] of Object.entries(ALIASES)) {
    const added = await app.cli(['alias', 'add', alias, ...targets]);
    if (added.code !== 0) throw new Error(`alias add ${alias}: ${added.stderr}`);
  }
  const tally: QueueTally = { cuts: 0, droppedBytes: 0, droppedNames: 0, acknowledged: 0, recipients: 0, delivered: 0, bounced: 0, local: 0, lost: 0, damaged: 0, duplicates: 0, duplicateDsns: 0 };
  const sent = new Map<string, Sent>();
  const refusals: string[] = [];
  const observer = new Observer(() => [remote.accept, ...remote.defer.accepted]);
  for (let round = 0; round < cuts; round++) {
    const senders = startSenders(app, `${mode}${round}`, refusals);
    await sleep(300 + Math.random() * 2_000);
    await app.stop('SIGKILL');
    for (const [token, message] of await senders.stop()) {
      sent.set(token, message);
      tally.acknowledged += 1;
      tally.recipients += message.remote.length + message.local.length;
    }
    const label = `cut ${round + 1} (${mode})`;
    const pending = await cutNow(t, fs, tally, label, app);
    account(t, label, sent, await observer.observe(app, sent), tally, false, pending);
    // Deferred recipients of this round reach the accepting stand-in in the next, and so on.
    await remote.defer.set(round % 2 === 0 ? 'accept' : 'defer');
    await app.restart();
  }
  t.same(refusals, [], 'the appliance refused no recipient');

  // The drain: the deferring MX accepts now; every recipient must end delivered or bounced.
  await app.stop('SIGTERM');
  await remote.defer.set('accept');
  await app.restart();
  await app.cli(['queue', 'retry', '--all']);
  await waitForEmptyQueue(app, 180_000);
  await app.stop('SIGTERM');
  const seen = await observer.observe(app, sent);
  account(t, `after the drain (${mode})`, sent, seen, tally, true);
  for (const [token, message] of sent) {
    for (const r of message.remote) {
      const copies = seen.copies.get(key(token, r)) ?? 0;
      const dsns = seen.dsns.get(key(token, r)) ?? 0;
      if (copies > 0) tally.delivered += 1;
      else if (dsns > 0) tally.bounced += 1;
      tally.duplicates += Math.max(0, copies - 1);
      tally.duplicateDsns += Math.max(0, dsns - 1);
    }
    tally.local += message.local.length;
  }
  return tally;
}
