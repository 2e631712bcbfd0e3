// How command results look: `--json` is the stable, documented form (INTERFACE.md); the rest is for
// people, built by the files in format/.
import type { Alias, DeliveryOutcome, QueueEntry, StoreCheckReport, UserSummary } from '../core/types.js';
import type { AdminParams } from './api.js';
import type { StatusReport } from './status.js';
import { changeLine } from './format/changes.js';
import { aliasLines, domainLines, queueLines, userLines } from './format/lists.js';
import { relayLines, relaySetLines, relayTestLines } from './format/relay.js';
import { statusLines } from './format/status.js';
import { doctorLines, type DoctorReport } from './doctor/index.js';
import { styleFor, type Style } from './format/style.js';

/** The lines people see for the result of `op`. */
export function humanLines(op: string, params: AdminParams, result: unknown, now: number, style: Style): string[] {
  switch (op) {
    case 'domain.list':
      return domainLines(result as string[]);
    case 'user.list':
      return userLines(result as UserSummary[], style);
    case 'alias.list':
      return aliasLines(result as Alias[], style);
    case 'queue.list':
      return queueLines(result as QueueEntry[], now, style);
    case 'relay.show':
      return relayLines(result as Parameters<typeof relayLines>[0]);
    case 'relay.set':
      return relaySetLines(result as Parameters<typeof relaySetLines>[0]);
    case 'relay.test':
      return relayTestLines(result as DeliveryOutcome, style);
    case 'status':
      return statusLines(result as StatusReport, now, style);
    case 'store.check':
      return checkLines(result as StoreCheckReport);
    case 'doctor':
      return doctorLines(result as DoctorReport, (text, level) => (level === 'ok' ? style.good(text) : level === 'warning' ? style.warn(text) : style.bad(text)));
    default: {
      const line = changeLine(op, params, result);
      if (line !== undefined) return [line];
      // An operation without a text form yet (added later): its JSON is still readable.
      return result === null || result === undefined ? ['done'] : JSON.stringify(result, null, 2).split('\n');
    }
  }
}

export function printResult(op: string, params: AdminParams, result: unknown, json: boolean): void {
  const text = json ? JSON.stringify(result ?? null, null, 2) : humanLines(op, params, result, Date.now(), styleFor(process.stdout)).join('\n');
  process.stdout.write(text + '\n');
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
  if (report.orphanEntries > 0) lines.push(`deleted ${report.orphanEntries} folder entries that belonged to no folder`);
  if (report.staleIndexes > 0) lines.push(`deleted ${report.staleIndexes} indexes of messages that are gone`);
  if (report.reindexed > 0) lines.push(`indexed ${report.reindexed} messages that had no index`);
  if (report.unindexed > 0) lines.push(`${report.unindexed} messages in folders have no index (the check had no indexer)`);
  lines.push(report.consistent ? 'the store is consistent' : 'the store was repaired');
  return lines;
}
