// How command results look: `--json` is the stable, documented form; the rest is for people.
import type { Alias, QueueEntry, StoreCheckReport, UserSummary } from '../core/types.js';

export function printResult(op: string, result: unknown, json: boolean): void {
  const out = (line: string): void => void process.stdout.write(line + "\n");
  if (json) return out(JSON.stringify(result ?? null, null, 2));
  switch (op) {
    case 'domain.list':
      return (result as string[]).forEach(out);
    case 'user.list':
      for (const u of result as UserSummary[]) out(`${u.address}\t${u.messages} messages\t${u.bytes} bytes\tquota ${u.quota ? `${u.quota} bytes` : 'none'}`);
      return;
    case 'alias.list':
      for (const a of result as Alias[]) out(`${a.alias}\t-> ${a.targets.join(', ')}`);
      return;
    case 'queue.list':
      for (const q of result as QueueEntry[]) {
        out(`${q.id}  ${new Date(q.createdAt).toISOString()}  ${q.size} bytes  from <${q.sender}>  attempts ${q.attempts}  next ${new Date(q.nextAttemptAt).toISOString()}${q.lastError ? `  last error: ${q.lastError}` : ''}`);
        for (const r of q.recipients) out(`    ${r.state.padEnd(9)} <${r.address}>${r.lastError ? `  ${r.lastError}` : ''}`);
      }
      if ((result as QueueEntry[]).length === 0) out('queue is empty');
      return;
    case 'status':
      return out(JSON.stringify(result, null, 2));
    case 'store.check':
      return checkLines(result as StoreCheckReport).forEach(out);
    default:
      if (result !== null && result !== undefined) out(JSON.stringify(result, null, 2));
      else out('ok');
  }
}

/** `letterbox check`: what was checked, each repair, and the verdict. */
export function checkLines(report: StoreCheckReport): string[] {
  const read = report.bodies ? `every chunk read (${report.chunks})` : 'records only';
  const lines = [`checked ${report.messages} messages, ${report.entries} mailbox entries, ${report.queueEntries} queue entries; ${read}`];
  for (const d of report.damaged) {
    const where = [...d.entries.map((e) => `mailbox ${e}`), ...d.queueIds.map((q) => `queue ${q}`)].join(', ');
    lines.push(`set aside damaged message ${d.messageId}: ${d.reason}${where ? ` (was in ${where})` : ''}`);
  }
  if (report.orphanChunks > 0) lines.push(`deleted ${report.orphanChunks} chunks that belonged to no message`);
  if (report.unreferenced > 0) lines.push(`deleted ${report.unreferenced} messages that no mailbox or queue entry pointed at`);
  if (report.referenceCountsFixed > 0) lines.push(`corrected the reference count of ${report.referenceCountsFixed} messages`);
  for (const m of report.countersFixed) lines.push(`corrected the message count and size of ${m}`);
  lines.push(report.consistent ? 'the store is consistent' : 'the store was repaired');
  return lines;
}
