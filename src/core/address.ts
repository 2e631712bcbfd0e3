// Mail address handling shared by SMTP, the directory and delivery.
// Domains compare case-insensitively (RFC 5321 2.4); local parts are case-sensitive by the RFC, but
// every mainstream server folds them for its own users, and so do we.
import { domainToASCII } from 'node:url';

export interface ParsedAddress {
  local: string;
  domain: string;
}

/** Splits at the last `@`, so a quoted local part holding `@` stays in the local part. */
export function parseAddress(address: string): ParsedAddress | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1).toLowerCase().replace(/\.$/, '');
  if (!domain || /[\s<>()[\]\\,;:"]/.test(domain)) return null;
  return { local, domain };
}

export function normalizeAddress(address: string): string {
  const parsed = parseAddress(address.trim());
  if (!parsed) return address.trim().toLowerCase();
  return `${parsed.local.toLowerCase()}@${parsed.domain}`;
}

export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** `alice+news@example.com` -> `alice@example.com`; null when there is no detail part. */
export function withoutDetail(address: string): string | null {
  const parsed = parseAddress(address);
  if (!parsed) return null;
  const plus = parsed.local.indexOf('+');
  if (plus <= 0) return null;
  return `${parsed.local.slice(0, plus)}@${parsed.domain}`;
}

// The top-level label follows RFC 3696 2: no hyphen at either end, and not all digits (so `10.0.0.10`,
// an address written without brackets, is not taken for a domain).
const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/;
const LOCAL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

export function isValidDomain(domain: string): boolean {
  return DOMAIN_RE.test(domain);
}

/**
 * Whether `domain` can be asked of DNS at all: in its ASCII form (IDNA, RFC 5890) every label has 1 to 63
 * octets and the name at most 253 characters (RFC 1035 2.3.4: 255 octets on the wire). A name that fails
 * this can never resolve, so mail to it is refused or bounced at once rather than retried for days.
 * Looser than isValidDomain on purpose: DNS itself allows underscores and all-digit labels.
 */
export function validDomainName(domain: string): boolean {
  const ascii = domainToASCII(domain.replace(/\.$/, ''));
  if (ascii === '' || ascii.length > 253) return false;
  return ascii.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

/** A mailbox address an administrator may create: dot-atom local part (RFC 5322 3.4.1) at a valid domain. */
export function isValidMailboxAddress(address: string): boolean {
  const parsed = parseAddress(address);
  return !!parsed && parsed.local.length <= 64 && LOCAL_RE.test(parsed.local.toLowerCase()) && isValidDomain(parsed.domain);
}
