// `letterbox relay show|set|test` for people. The password is never among what is shown: `relay show`
// says only whether one is set.
import type { DeliveryOutcome } from '../../core/types.js';
import { columns, type Style } from './style.js';
import { relayTrustLines, type RelayTrust } from '../relay.js';

interface PublicRelay {
  configured: boolean;
  host?: string;
  port?: number;
  tls?: string;
  mode?: string;
  user?: string | null;
  password?: string | null;
  [more: string]: unknown;
}

const MODE_MEANING: Record<string, string> = {
  fallback: 'used when direct delivery to a domain fails',
  always: 'every message to another domain goes through it',
  never: 'switched off: mail goes straight to each domain',
};

const SHOWN = new Set(['configured', 'host', 'port', 'tls', 'mode', 'user', 'password']);

export function relayLines(relay: PublicRelay): string[] {
  // Which certificates the smarthost's must chain to (`relay set --ca`).
  const trust = relay.trust ? relayTrustLines(relay.trust as RelayTrust) : [];
  if (!relay.configured) return ['no smarthost set: mail goes straight to each domain\'s MX (set one with: letterbox relay set --host H --port P)', ...trust];
  const rows = [
    ['smarthost', `${relay.host}:${relay.port} (${relay.tls === 'implicit' ? 'TLS from the start' : 'STARTTLS required'})`],
    ['mode', `${relay.mode}: ${MODE_MEANING[relay.mode ?? ''] ?? ''}`],
    ['login', relay.user ? `${relay.user} (password ${relay.password ? 'set' : 'not set'})` : 'none'],
  ];
  // Settings added later (the certificate trusted, say) are shown as they come rather than dropped.
  for (const [key, value] of Object.entries(relay)) {
    if (!SHOWN.has(key) && value !== null && value !== undefined && typeof value !== 'object') rows.push([key, String(value)]);
  }
  return [...columns(rows), ...trust];
}

export function relaySetLines(relay: PublicRelay): string[] {
  // `relay set --ca FILE|none` alone changes only the trust.
  if (!relay.configured) return relayLines(relay);
  const trust = relay.trust ? relayTrustLines(relay.trust as RelayTrust) : [];
  return [`smarthost set to ${relay.host}:${relay.port}, mode ${relay.mode}${relay.user ? `, login ${relay.user}` : ''}`, ...trust];
}

export function relayTestLines(outcome: DeliveryOutcome, style: Style): string[] {
  const where = outcome.remoteMta ? ` (${outcome.remoteMta})` : '';
  if (outcome.status === 'delivered') return [`${style.good('delivered')} a test message to ${outcome.address} through the smarthost${where}: ${outcome.reply}`];
  const word = outcome.status === 'bounced' ? style.bad('refused') : style.warn('not delivered');
  return [`${word}: the smarthost${where} did not take the test message to ${outcome.address}: ${outcome.reply}`];
}
