// The listings for people: domains, mailboxes, aliases and the queue, one aligned row each.
import type { Alias, QueueEntry, QueueRecipient, UserSummary } from '../../core/types.js';
import { ago, columns, count, size, until, type Style } from './style.js';

/** The far side's answers can be long (64 KiB at most); a listing shows the start, `--json` all of it. */
const MAX_REPLY = 100;

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REPLY ? `${line.slice(0, MAX_REPLY - 1)}…` : line;
}

export function domainLines(domains: string[]): string[] {
  if (domains.length === 0) return ['no domains yet (add one with: letterbox domain add DOMAIN)'];
  return [...domains];
}

export function userLines(users: UserSummary[], style: Style): string[] {
  if (users.length === 0) return ['no mailboxes yet (add one with: letterbox user add ADDRESS)'];
  const header = ['MAILBOX', 'MESSAGES', 'USED', 'QUOTA'].map(style.bold);
  const rows = users.map((u) => [u.address, String(u.messages), size(u.bytes), u.quota ? `${size(u.quota)} (${Math.round((u.bytes / u.quota) * 100)}%)` : 'none']);
  return columns([header, ...rows]);
}

export function aliasLines(aliases: Alias[], style: Style): string[] {
  if (aliases.length === 0) return ['no aliases yet (add one with: letterbox alias add ALIAS TARGET...)'];
  const rows = aliases.map((a) => [a.alias, `-> ${a.targets.join(', ')}${a.alias.startsWith('@') ? style.dim('  (catch-all)') : ''}`]);
  return columns(rows);
}

function recipientLine(r: QueueRecipient, now: number, style: Style): string[] {
  const state = r.state === 'deferred' ? style.warn(r.state) : r.state === 'bounced' ? style.bad(r.state) : r.state;
  const next = r.state === 'deferred' && r.nextAttemptAt !== undefined ? `next ${until(r.nextAttemptAt, now)}` : '';
  const why = r.lastError ? clip(r.lastError) : '';
  return ['', state, r.address, [next, why].filter(Boolean).join(': ')];
}

/** One row per message, its recipients under it: the state of each, when it is tried next and why it waits. */
export function queueLines(entries: QueueEntry[], now: number, style: Style): string[] {
  if (entries.length === 0) return ['the queue is empty'];
  const header = ['ID', 'QUEUED', 'SIZE', 'FROM', 'TRIES', 'NEXT'].map(style.bold);
  const rows = entries.map((q) => [q.id, ago(q.createdAt, now), size(q.size), q.sender === '' ? '<> (a bounce)' : q.sender, String(q.attempts), until(q.nextAttemptAt, now)]);
  const [head, ...lines] = columns([header, ...rows]);
  const out = [head as string];
  entries.forEach((q, i) => {
    out.push(lines[i] as string);
    out.push(...columns(q.recipients.map((r) => recipientLine(r, now, style)), '  '));
  });
  const recipients = entries.reduce((n, q) => n + q.recipients.length, 0);
  out.push(style.dim(`${count(entries.length, 'message')} for ${count(recipients, 'recipient')}`));
  return out;
}
