// `letterbox status` for people: one screen, one topic a line, the label in the first column.
import type { StatusReport } from '../status.js';
import { ago, columns, count, size, span, type Style } from './style.js';

const at = (iso: string | null | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

function serviceRows(report: StatusReport, now: number, style: Style): string[][] {
  const started = at(report.startedAt);
  if (!report.running || started === undefined) return [['letterbox', style.warn('not running') + ' (commands open the store directly; start it with: letterbox serve)']];
  const rows = [['letterbox', `${style.good('running')}, up ${span(now - started)}`]];
  report.services.forEach((s, i) => rows.push([i === 0 ? 'listening' : '', `${s.service.padEnd(11)} ${s.address}:${s.port}`]));
  if (report.services.length === 0) rows.push(['listening', style.warn('no listener is enabled')]);
  return rows;
}

function queueRow(report: StatusReport, now: number, style: Style): string[] {
  const q = report.queue;
  if (q.messages === 0) return ['queue', 'empty'];
  const deferred = q.deferred > 0 ? style.warn(`${q.deferred} deferred`) : '0 deferred';
  const oldest = at(q.oldestDeferredAt);
  return ['queue', `${count(q.messages, 'message')} for ${count(q.recipients, 'recipient')}, ${deferred}${oldest ? `; the oldest waiting ${span(now - oldest)}` : ''}`];
}

function deliveryRows(report: StatusReport, now: number, style: Style): string[][] {
  const d = report.delivery;
  if (!report.running) return [['delivery', 'not known (the service is not running)'], ['bounces', 'not counted (the service is not running)']];
  const rows: string[][] = [];
  const last = d.lastAttempt;
  if (!last) rows.push(['delivery', 'no attempt since the service started']);
  else {
    const result = last.result === 'delivered' ? style.good(last.result) : last.result === 'bounced' ? style.bad(last.result) : style.warn(last.result);
    const reply = last.result !== 'delivered' && last.reply ? `: ${last.reply.length > 80 ? `${last.reply.slice(0, 79)}…` : last.reply}` : '';
    rows.push(['delivery', `last attempt ${ago(Date.parse(last.at ?? ''), now)} to ${last.recipient}, ${result}${reply}`]);
  }
  const delivered = at(d.lastDeliveryAt);
  if (delivered !== undefined && last?.result !== 'delivered') rows.push(['', `last delivered ${ago(delivered, now)}`]);
  const since = at(d.bouncesCountedSince);
  const partial = since !== undefined && at(report.startedAt) === since ? ` (counted since the service started ${ago(since, now)})` : '';
  rows.push(['bounces', d.bouncedToday === null ? 'not counted' : `${d.bouncedToday === 0 ? 'none' : style.bad(count(d.bouncedToday, 'recipient'))} today${partial}`]);
  return rows;
}

function outboundRows(report: StatusReport, style: Style): string[][] {
  const r = report.relay;
  const relay = r.configured ? `${r.host}:${r.port}, mode ${r.mode}` : 'none: each domain\'s MX directly';
  let port25 = 'not known (the service is not running)';
  if (report.running) port25 = report.delivery.outboundPort25Blocked ? style.warn('outbound port 25 blocked') + ': mail goes through the smarthost' : 'outbound port 25 open';
  return [['port 25', port25], ['smarthost', relay]];
}

export function statusLines(report: StatusReport, now: number, style: Style): string[] {
  const d = report.disk;
  const freeShare = d.totalBytes > 0 ? ` (${Math.round((d.freeBytes / d.totalBytes) * 100)}%)` : '';
  const rows = [
    ...serviceRows(report, now, style),
    queueRow(report, now, style),
    ...deliveryRows(report, now, style),
    ...outboundRows(report, style),
    ['mail for', `${count(report.domains, 'domain')}, ${count(report.users, 'mailbox', 'mailboxes')}`],
    ['disk', `${size(d.freeBytes)} free of ${size(d.totalBytes)}${freeShare}; letterbox data ${size(d.dataBytes)}`],
  ];
  return columns(rows.map(([label, value]) => [label ? style.bold(label) : '', value ?? '']));
}
