// The IMAP benchmark's mixed load (DESIGN.md, "Numbers"): CLIENTS clients, each running session after
// session for a fixed time, as office clients checking mail do: LOGIN, SELECT INBOX, then READINGS times
// a FETCH of 20 messages' UID FLAGS RFC822.SIZE ENVELOPE, one whole message (BODY.PEEK[]) and STORE \Seen
// on 5; then \Deleted on 2 and UID EXPUNGE of those 2 (RFC 4315), APPEND of one message, LOGOUT. Every
// command is one operation; the figure is commands answered OK per second. A session does several
// readings so that the password check at LOGIN (tens of ms by design, on both servers) does not make the
// figure one of password hashing alone. The clients' choices come from a seeded generator, so both
// servers get the same sequence of requests.
import { performance } from 'node:perf_hooks';
import { ImapClient, quoted } from './imap-client.mjs';

const FETCH_SPAN = 20;
const SEEN_SPAN = 5;
export const READINGS = 5;

function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts per command name: answered OK, and answered otherwise (NO, BAD) or failed. */
class Tally {
  constructor() {
    this.ok = {};
    this.failed = {};
    this.sessions = 0;
    this.problems = [];
    /** Milliseconds from sending each command answered OK to its tagged answer, by command. */
    this.latencies = {};
  }

  record(name, outcome) {
    if (outcome.status === 'OK') {
      this.ok[name] = (this.ok[name] ?? 0) + 1;
      (this.latencies[name] ??= []).push(outcome.ms);
    }
    else this.fail(name, `${outcome.status} ${outcome.text}`);
    return outcome.status === 'OK';
  }

  fail(name, why) {
    this.failed[name] = (this.failed[name] ?? 0) + 1;
    if (this.problems.length < 10) this.problems.push(`${name}: ${why.trim().slice(0, 200)}`);
  }

  get operations() {
    return Object.values(this.ok).reduce((a, b) => a + b, 0);
  }

  get failures() {
    return Object.values(this.failed).reduce((a, b) => a + b, 0);
  }
}

/** FETCH of 20 ENVELOPEs, one message read whole, \Seen on 5; resolves with the UIDs fetched, or null. */
async function reading(client, random, tally) {
  if (client.exists < FETCH_SPAN) {
    tally.fail('SELECT', `only ${client.exists} messages left`);
    return null;
  }
  const first = 1 + Math.floor(random() * (client.exists - FETCH_SPAN));
  const fetched = await client.command(`FETCH ${first}:${first + FETCH_SPAN - 1} (UID FLAGS RFC822.SIZE ENVELOPE)`, { keep: true });
  if (!tally.record('FETCH', fetched)) return null;
  const read = Math.min(first + Math.floor(random() * FETCH_SPAN), client.exists);
  if (!tally.record('FETCH BODY.PEEK[]', await client.command(`FETCH ${read} (BODY.PEEK[])`))) return null;
  const seen = Math.min(first + Math.floor(random() * (FETCH_SPAN - SEEN_SPAN)), client.exists - SEEN_SPAN);
  if (!tally.record('STORE', await client.command(`STORE ${seen}:${seen + SEEN_SPAN - 1} +FLAGS.SILENT (\\Seen)`))) return null;
  return fetched.responses.map((response) => /\bUID (\d+)/.exec(response)?.[1]).filter(Boolean);
}

/** One session of one client; returns early (and the caller starts the next) when a command fails. */
async function session({ port, user, password, random, appendMessage, tally }) {
  const client = await ImapClient.open(port, '127.0.0.1', 60_000);
  try {
    if (!tally.record('LOGIN', await client.command(`LOGIN ${quoted(user)} ${quoted(password)}`))) return;
    if (!tally.record('SELECT', await client.command('SELECT INBOX'))) return;
    let uids = [];
    for (let i = 0; i < READINGS; i++) {
      uids = await reading(client, random, tally);
      if (!uids) return;
    }
    const doomed = [uids[Math.floor(random() * uids.length)], uids[Math.floor(random() * uids.length)]].filter(Boolean).join(',');
    if (doomed) {
      if (!tally.record('UID STORE', await client.command(`UID STORE ${doomed} +FLAGS.SILENT (\\Deleted)`))) return;
      if (!tally.record('UID EXPUNGE', await client.command(`UID EXPUNGE ${doomed}`))) return;
    }
    if (!tally.record('APPEND', await client.command('APPEND INBOX (\\Seen)', { literals: [appendMessage(random)] }))) return;
    tally.record('LOGOUT', await client.command('LOGOUT'));
    tally.sessions += 1;
  } finally {
    client.destroy();
  }
}

/**
 * Runs the mixed load for `seconds` against an IMAP server on `port`; resolves with commands and sessions
 * per second and what failed. `appendMessage(random)` gives the Buffer each session appends.
 */
export async function mixedLoad({ port, user, password, clients = 10, seconds = 30, appendMessage, seed = 7 }) {
  const tally = new Tally();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const random = generator(seed * 1000 + c);
      while (performance.now() < deadline) {
        try {
          await session({ port, user, password, random, appendMessage, tally });
        } catch (err) {
          tally.fail('connection', err.message);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    seconds: elapsed,
    operationsPerSecond: tally.operations / elapsed,
    sessionsPerSecond: tally.sessions / elapsed,
    ok: tally.ok,
    failed: tally.failed,
    medianMs: Object.fromEntries(Object.entries(tally.latencies).map(([name, times]) => [name, times.sort((a, b) => a - b)[Math.floor(times.length / 2)]])),
    failures: tally.failures,
    problems: tally.problems,
  };
}
