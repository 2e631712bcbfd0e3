// Delivery status notifications (RFC 3464) as the tests read them: the multipart/report as a mail
// client shows it, and its message/delivery-status fields as a DSN parser reads them.
import { simpleParser, type ParsedMail } from 'mailparser';
import type { InboxMail } from './mailbox.js';

/**
 * The fields of a message/delivery-status body, group by group: the per-message group first, then one
 * per recipient. Names in lower case, folded lines unfolded. `lineEnds: 'crlf'` takes only CRLF as a
 * line end (to hold a DSN we wrote to RFC 5322), `any` also LF (a copy stored by another program).
 */
export function statusGroups(body: string, lineEnds: 'crlf' | 'any' = 'any'): Map<string, string>[] {
  const eol = lineEnds === 'crlf' ? '\r\n' : '\n';
  const text = lineEnds === 'crlf' ? body : body.replace(/\r\n/g, '\n');
  return text
    .split(`${eol}${eol}`)
    .filter((group) => group.trim())
    .map((group) => {
      const fields = new Map<string, string>();
      for (const line of group.replace(new RegExp(`${eol}[ \\t]+`, 'g'), ' ').split(eol)) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      return fields;
    });
}

export interface DeliveryStatus {
  /** The per-message fields (Reporting-MTA, Arrival-Date ...), names in lower case. */
  message: Record<string, string>;
  /** One group of fields per recipient (Final-Recipient, Action, Status, Diagnostic-Code ...). */
  recipients: Record<string, string>[];
}

/**
 * The message/delivery-status part of a DSN in an INBOX, or undefined when there is none. mailparser
 * shows that part inline with the text (as many clients do), so it is taken from the MIME structure.
 */
export function deliveryStatus(mail: InboxMail): DeliveryStatus | undefined {
  const boundary = reportType(mail.parsed).boundary;
  if (!boundary) return undefined;
  const parts = mail.bytes.toString('latin1').split(`\r\n--${boundary}`);
  const part = parts.find((p) => /^\r\n(?:[^\r\n]+\r\n)*Content-Type: message\/delivery-status\r\n/i.test(p));
  if (!part) return undefined;
  const groups = statusGroups(part.slice(part.indexOf('\r\n\r\n') + 4)).map((group) => Object.fromEntries(group));
  return { message: groups[0] ?? {}, recipients: groups.slice(1) };
}

/** The top-level type and the report-type parameter of a multipart/report, as a client sees them. */
export function reportType(mail: ParsedMail): { type: string; reportType: string | undefined; boundary?: string } {
  const header = mail.headers.get('content-type') as { value: string; params: Record<string, string> } | undefined;
  return { type: header?.value ?? '', reportType: header?.params['report-type'], ...(header?.params.boundary ? { boundary: header.params.boundary } : {}) };
}

/** The human-readable text with line breaks and indentation made single spaces. */
export function flatText(mail: ParsedMail): string {
  return (mail.text ?? '').replace(/\s+/g, ' ');
}

/** A DSN as a mail client and a DSN parser read it, from its bytes. */
export interface Report {
  /** The top-level type, e.g. `multipart/report`. */
  contentType: string;
  reportType: string | undefined;
  subject: string;
  /** The message/delivery-status fields: the per-message group first, then one group per recipient. */
  groups: Map<string, string>[];
  /** The text of the returned original (text/rfc822-headers or message/rfc822). */
  returned: string;
}

export async function parseReport(raw: Buffer): Promise<Report> {
  const mail = await simpleParser(raw, { keepDeliveryStatus: true });
  const status = mail.attachments.find((a) => a.contentType === 'message/delivery-status');
  const original = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822');
  const { type, reportType: report } = reportType(mail);
  return {
    contentType: type,
    reportType: report,
    subject: mail.subject ?? '',
    groups: statusGroups(status?.content.toString('latin1') ?? ''),
    returned: original?.content.toString('utf8') ?? '',
  };
}
