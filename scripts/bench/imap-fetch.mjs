// IMAP benchmark (DESIGN.md, "Numbers"): Letterbox (the built dist/) and a throw-away loopback Dovecot 2.3
// in one run, driven by the same minimal client (imap-client.mjs) so the client's cost is equal and small.
//
// Both get the same 10,000 generated messages of 4-8 KB (imap-messages.mjs): Letterbox by SMTP into the
// appliance (10 sessions), Dovecot as files written into its maildir as a delivery agent would. Fill time
// is not measured. One unmeasured session then SELECTs the INBOX and fetches every ENVELOPE, as a client's
// first sync would: Dovecot builds its index and caches ENVELOPE then, where Letterbox indexed each message
// when it was stored. Then ROUNDS rounds, alternating between the servers so that noise from the machine
// falls on both:
//   - restart the server (Letterbox: the process; Dovecot: the master and every process under it, so its
//     in-memory state is gone too), drop the kernel's page cache when allowed (root: both servers read
//     their files from disk again), then in a new session SELECT INBOX and UID FETCH 1:* (FLAGS
//     RFC822.SIZE ENVELOPE): "just after a restart";
//   - a second session: SELECT INBOX and the same UID FETCH again: "warm".
// Resident memory: VmRSS (Dovecot: the sum over its master and every process under it) idle after the
// fill and the first sync; the peak during each fetch from VmHWM, reset before it through clear_refs
// (Dovecot: the sum of its processes' peaks, an upper bound). Then a 30-second mixed load of 10 clients
// per round (imap-mixed.mjs). Medians of the rounds; ratios Letterbox / Dovecot.
// Usable on its own: `node scripts/bench/imap-fetch.mjs`; BENCH_IMAP_MESSAGES, BENCH_IMAP_ROUNDS and
// BENCH_IMAP_MIXED_SECONDS shrink it while working on it.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { login } from './imap-client.mjs';
import { startDovecot } from './dovecot.mjs';
import { fillBySmtp, startLetterboxImap } from './imap-letterbox.mjs';
import { benchMessage, benchMessages } from './imap-messages.mjs';
import { mixedLoad, READINGS } from './imap-mixed.mjs';

const MESSAGES = Number(process.env.BENCH_IMAP_MESSAGES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_IMAP_ROUNDS ?? 5);
const MIXED_SECONDS = Number(process.env.BENCH_IMAP_MIXED_SECONDS ?? 30);
const CLIENTS = 10;
const DOMAIN = 'bench.test';
const USER = `user@${DOMAIN}`;
const PASSWORD = 'a long bench password';
const FETCH = 'UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)';

/** Writes the dirty pages out and drops the page cache; false when not allowed here. */
function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

function statusField(pid, name) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0; // the process ended
  }
}

const residentMb = (pids) => pids.reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0);

/** Proportional set size: shared pages split between the processes sharing them (the fair sum). */
function proportionalMb(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      // ended, or smaps_rollup not readable
    }
  }
  return sum;
}

/** Runs `work` and resolves with its result and the peak resident size of `pids()` during it, in MB. */
async function peakDuring(pids, work) {
  let resettable = true;
  for (const pid of pids()) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5\n'); // resets VmHWM (proc(5))
    } catch {
      resettable = false;
    }
  }
  let sampled = residentMb(pids());
  const timer = resettable ? null : setInterval(() => (sampled = Math.max(sampled, residentMb(pids()))), 50);
  try {
    const result = await work();
    const peak = resettable ? pids().reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0) : sampled;
    return { result, peak };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** Sampled every 200 ms: processes come and go under the mixed load, so their peaks cannot be read after. */
async function sampledPeak(pids, work) {
  let peak = residentMb(pids());
  const timer = setInterval(() => (peak = Math.max(peak, residentMb(pids()))), 200);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

async function timed(client, command, check) {
  const started = performance.now();
  const outcome = await client.command(command);
  const ms = performance.now() - started;
  if (outcome.status !== 'OK') throw new Error(`${command}: ${outcome.status} ${outcome.text}`);
  check?.(outcome);
  return { ms, outcome };
}

/** SELECT then the full UID FETCH in one new session; checks that every message was answered. */
async function selectAndFetch(server, expected) {
  const client = await login(server.port, USER, PASSWORD, 300_000);
  try {
    const select = await timed(client, 'SELECT INBOX', () => {
      if (client.exists !== expected) throw new Error(`${server.name}: SELECT INBOX says ${client.exists} messages, ${expected} expected`);
    });
    const { result: fetch, peak } = await peakDuring(server.pids, () =>
      timed(client, FETCH, (outcome) => {
        if (outcome.untagged < expected) throw new Error(`${server.name}: ${FETCH} answered ${outcome.untagged} responses for ${expected} messages`);
      }),
    );
    await client.logout();
    return { select: select.ms, fetch: fetch.ms, peak, bytes: fetch.outcome.bytes };
  } finally {
    client.destroy();
  }
}

/** The unmeasured first sync after the fill; then idle memory after a few seconds of quiet. */
async function firstSync(server, expected) {
  const sync = await selectAndFetch(server, expected);
  await sleep(3_000);
  const pids = server.pids();
  return { idle: residentMb(pids), idleProportional: proportionalMb(pids), bytes: sync.bytes };
}

async function measuredRound(server, expected, canDrop, log, round) {
  await server.restart({ between: async () => (canDrop ? dropCaches() : undefined) });
  const cold = await selectAndFetch(server, expected);
  const warm = await selectAndFetch(server, expected);
  log(`  ${server.name}, round ${round}: SELECT ${cold.select.toFixed(0)} / ${warm.select.toFixed(0)} ms, ` +
    `FETCH ${cold.fetch.toFixed(0)} / ${warm.fetch.toFixed(0)} ms (after restart / warm), peak ${cold.peak.toFixed(0)} / ${warm.peak.toFixed(0)} MB`);
  return { cold, warm };
}

/** The mixed load on one server; its INBOX shrinks by about one message per session, which is fine. */
async function mixedRound(server, log, round) {
  const appendMessage = (random) => benchMessage(MESSAGES + Math.floor(random() * 1_000_000)).bytes;
  const { result, peak } = await sampledPeak(server.pids, () =>
    mixedLoad({ port: server.port, user: USER, password: PASSWORD, clients: CLIENTS, seconds: MIXED_SECONDS, appendMessage, seed: round }),
  );
  const latencies = Object.entries(result.medianMs).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ');
  log(`  ${server.name}, mixed load round ${round}: ${result.operationsPerSecond.toFixed(0)} commands/s (median ms: ${latencies}), ` +
    `${result.sessionsPerSecond.toFixed(1)} sessions/s, peak ${peak.toFixed(0)} MB, ${result.failures} failed${result.failures ? ` (${result.problems.join('; ')})` : ''}`);
  return { ...result, peak };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function prepare(log, messages) {
  const servers = [];
  const missing = [];
  try {
    const letterbox = await startLetterboxImap();
    if (letterbox.missing) missing.push(letterbox.missing);
    else {
      servers.push(letterbox);
      letterbox.cli(['domain', 'add', DOMAIN]);
      letterbox.cli(['user', 'add', USER, '--password-stdin'], `${PASSWORD}\n`);
      const started = performance.now();
      await fillBySmtp(letterbox.ports.smtp, USER, messages);
      log(`  Letterbox: ${messages.length} messages delivered by SMTP in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const dovecot = await startDovecot({ user: USER, password: PASSWORD });
    if (dovecot.missing) missing.push(`Dovecot not measured: ${dovecot.missing}`);
    else {
      servers.push(dovecot);
      dovecot.deliver(messages);
    }
    return { servers, missing };
  } catch (err) {
    for (const server of servers) await server.stop();
    throw err;
  }
}

/** Every round of both kinds on every server; resolves with the figures by server name. */
async function measure(servers, log, canDrop) {
  const figures = new Map(servers.map((s) => [s.name, { rounds: [], mixed: [] }]));
  for (const server of servers) {
    const started = performance.now();
    const sync = await firstSync(server, MESSAGES);
    Object.assign(figures.get(server.name), sync);
    log(`  ${server.name}: first sync in ${((performance.now() - started) / 1000 - 3).toFixed(1)} s, idle ${sync.idle.toFixed(0)} MB resident`);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const server of servers) figures.get(server.name).rounds.push(await measuredRound(server, MESSAGES, canDrop, log, round));
  }
  if (MIXED_SECONDS > 0) {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const server of servers) figures.get(server.name).mixed.push(await mixedRound(server, log, round));
    }
  }
  return figures;
}

const ROWS = [
  { label: 'SELECT INBOX just after a restart (ms)', pick: (f) => median(f.rounds.map((r) => r.cold.select)), lowerIsBetter: true, digits: 1 },
  { label: 'SELECT INBOX warm (ms)', pick: (f) => median(f.rounds.map((r) => r.warm.select)), lowerIsBetter: true, digits: 1 },
  { label: '`UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)` just after a restart (ms)', pick: (f) => median(f.rounds.map((r) => r.cold.fetch)), lowerIsBetter: true, digits: 0 },
  { label: '`UID FETCH 1:* (...)` warm (ms)', pick: (f) => median(f.rounds.map((r) => r.warm.fetch)), lowerIsBetter: true, digits: 0 },
  { label: 'resident memory idle after the fill and first sync (MB)', pick: (f) => f.idle, lowerIsBetter: true, digits: 0 },
  { label: 'resident memory peak during the fetch after a restart (MB)', pick: (f) => median(f.rounds.map((r) => r.cold.peak)), lowerIsBetter: true, digits: 0 },
  { label: 'resident memory peak during the warm fetch (MB)', pick: (f) => median(f.rounds.map((r) => r.warm.peak)), lowerIsBetter: true, digits: 0 },
  { label: `mixed load, ${CLIENTS} clients: commands answered OK per second`, pick: (f) => median(f.mixed.map((m) => m.operationsPerSecond)), lowerIsBetter: false, digits: 0, mixed: true },
  { label: 'mixed load: sessions completed per second', pick: (f) => median(f.mixed.map((m) => m.sessionsPerSecond)), lowerIsBetter: false, digits: 1, mixed: true },
  { label: 'mixed load: resident memory peak, sampled every 200 ms (MB)', pick: (f) => median(f.mixed.map((m) => m.peak)), lowerIsBetter: true, digits: 0, mixed: true },
];

function table(servers, figures) {
  const [letterbox, dovecot] = [servers.find((s) => s.name === 'Letterbox'), servers.find((s) => s.name.startsWith('Dovecot'))];
  const names = servers.map((s) => s.name);
  const both = letterbox && dovecot;
  const header = `| median of ${ROUNDS} rounds | ${names.join(' | ')} |${both ? ' Letterbox / Dovecot | better |' : ''}`;
  const rule = `|---|${names.map(() => '---:|').join('')}${both ? '---:|---|' : ''}`;
  const lines = [header, rule];
  for (const row of ROWS) {
    if (row.mixed && MIXED_SECONDS <= 0) continue;
    const values = servers.map((s) => row.pick(figures.get(s.name)));
    let ratio = '';
    if (both) {
      const r = row.pick(figures.get(letterbox.name)) / row.pick(figures.get(dovecot.name));
      ratio = ` ${r.toFixed(2)} | ${row.lowerIsBetter ? 'lower' : 'higher'} |`;
    }
    lines.push(`| ${row.label} | ${values.map((v) => v.toFixed(row.digits)).join(' | ')} |${ratio}`);
  }
  return lines.join('\n');
}

function roundsTable(servers, figures) {
  const lines = [`| server | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`, `|---|${'---:|'.repeat(ROUNDS)}`];
  const fmt = (ms) => ms.toFixed(0);
  for (const s of servers) {
    const f = figures.get(s.name);
    lines.push(`| ${s.name}: SELECT / FETCH after a restart (ms) | ${f.rounds.map((r) => `${fmt(r.cold.select)} / ${fmt(r.cold.fetch)}`).join(' | ')} |`);
    lines.push(`| ${s.name}: SELECT / FETCH warm (ms) | ${f.rounds.map((r) => `${fmt(r.warm.select)} / ${fmt(r.warm.fetch)}`).join(' | ')} |`);
    if (f.mixed.length > 0) lines.push(`| ${s.name}: mixed load (commands/s) | ${f.mixed.map((m) => fmt(m.operationsPerSecond)).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Median time of each mixed-load command (median over the rounds of each round's median). */
function latencyTable(servers, figures) {
  const withMixed = servers.filter((s) => figures.get(s.name).mixed.length > 0);
  if (withMixed.length === 0) return '';
  const commands = [...new Set(withMixed.flatMap((s) => figures.get(s.name).mixed.flatMap((m) => Object.keys(m.medianMs))))];
  const lines = [`| mixed load: median ms from command to tagged answer | ${withMixed.map((s) => s.name).join(' | ')} |`, `|---|${'---:|'.repeat(withMixed.length)}`];
  for (const command of commands) {
    const cells = withMixed.map((s) => {
      const times = figures.get(s.name).mixed.map((m) => m.medianMs[command]).filter((ms) => ms !== undefined);
      return times.length > 0 ? median(times).toFixed(1) : '-';
    });
    lines.push(`| ${command} | ${cells.join(' | ')} |`);
  }
  return `\n${lines.join('\n')}\n`;
}

function notes(servers, figures, canDrop, missing) {
  const lines = [];
  const mb = (v) => v.toFixed(0);
  for (const s of servers) {
    const f = figures.get(s.name);
    const failed = f.mixed.reduce((sum, m) => sum + m.failures, 0);
    lines.push(`- ${s.name}: the full fetch answered ${(f.bytes / 2 ** 20).toFixed(1)} MiB; idle proportional set size (shared pages split) ${mb(f.idleProportional)} MB` +
      (f.mixed.length > 0 ? `; mixed load commands not answered OK: ${failed}${failed ? ` (${f.mixed.flatMap((m) => m.problems).slice(0, 3).join('; ')})` : ''}.` : '.'));
  }
  lines.push(canDrop
    ? '- The page cache was dropped (`echo 3 > /proc/sys/vm/drop_caches`) before each restart of both servers.'
    : '- The page cache could not be dropped here (not root): "after a restart" reads files the kernel still caches, for both servers.');
  for (const why of missing) lines.push(`- ${why}.`);
  return lines.join('\n');
}

/** Runs the benchmark; returns its section of docs/PERFORMANCE.md. */
export async function run({ log = console.log } = {}) {
  log(`IMAP: ${MESSAGES} messages, ${ROUNDS} rounds, ${MIXED_SECONDS}-second mixed load of ${CLIENTS} clients`);
  const messages = benchMessages(MESSAGES);
  const canDrop = dropCaches();
  const { servers, missing } = await prepare(log, messages);
  try {
    const figures = await measure(servers, log, canDrop);
    const markdown = [
      `${MESSAGES} generated messages of 4-8 KB (plain, multipart/alternative, with an attachment) in the INBOX: ` +
        'Letterbox filled by SMTP (10 sessions), Dovecot by writing the files into its maildir; then one unmeasured session ' +
        'SELECTs and fetches every ENVELOPE (Dovecot builds its index and cache then). Each round restarts the server and ' +
        'measures SELECT and the full fetch in a new session, then again in a second session ("warm"); the rounds alternate ' +
        `between the servers. The mixed load: ${CLIENTS} clients for ${MIXED_SECONDS} s, each session LOGIN, SELECT, ${READINGS} times (FETCH of 20 ` +
        'ENVELOPEs, one BODY.PEEK[], STORE \\Seen on 5), \\Deleted on 2 and UID EXPUNGE, APPEND, LOGOUT. Both driven by the same ' +
        'minimal raw-socket client (scripts/bench/imap-client.mjs). Memory: VmRSS, for Dovecot summed over all its processes ' +
        '(shared libraries counted in each); peaks from VmHWM reset before each fetch.',
      '',
      table(servers, figures),
      '',
      roundsTable(servers, figures),
      latencyTable(servers, figures),
      notes(servers, figures, canDrop, missing),
      '- Dovecot: Debian\'s defaults (maildir, a new imap process per session), `ssl = no`, passwords as SHA512-CRYPT with ' +
        '100,000 rounds (about the cost of Letterbox\'s scrypt), `mail_max_userip_connections = 1000` as Letterbox\'s session caps are raised.',
      '- Each mixed-load session checks a password once (40-50 ms of CPU on either server): Dovecot\'s auth process checks them one ' +
        'at a time, Letterbox two at once on libuv\'s threads; the LOGIN line of the latency table shows what that costs each.',
      `- Letterbox: \`letterbox serve\` from dist/ at log level info, its \`imap\` caps on sessions per user and connections per address raised to 1000.`,
    ].join('\n');
    return { title: 'IMAP', markdown };
  } finally {
    for (const server of servers) await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { markdown } = await run();
  console.log(`\n${markdown}`);
}
