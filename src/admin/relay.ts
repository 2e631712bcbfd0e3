// `letterbox relay set|show|test`: the upstream smarthost, kept in the store's settings so it applies
// at the next delivery without a restart. The password is stored (the smarthost needs it in clear)
// but never shown, logged or returned.
import { LetterboxError } from '../core/errors.js';
import type { RelaySettings } from '../core/types.js';
import type { AdminContext, AdminParams } from './api.js';

export const RELAY_SETTING = 'relay';

const TLS_MODES = ['starttls', 'implicit'] as const;
const MODES = ['fallback', 'always', 'never'] as const;

function parseRelay(p: AdminParams, previous: RelaySettings | undefined): RelaySettings {
  const host = typeof p.host === 'string' ? p.host.trim() : '';
  if (!host || /[\s/]/.test(host)) throw new LetterboxError('INVALID', 'relay set needs --host HOST');
  const port = Number(p.port ?? 587);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LetterboxError('INVALID', `--port must be 1-65535, not ${String(p.port)}`);
  const tls = (p.tls ?? (port === 465 ? 'implicit' : 'starttls')) as RelaySettings['tls'];
  if (!TLS_MODES.includes(tls)) throw new LetterboxError('INVALID', `--tls must be one of ${TLS_MODES.join(', ')}`);
  const mode = (p.mode ?? previous?.mode ?? 'fallback') as RelaySettings['mode'];
  if (!MODES.includes(mode)) throw new LetterboxError('INVALID', `--mode must be one of ${MODES.join(', ')}`);
  const user = typeof p.user === 'string' && p.user ? p.user : undefined;
  const password = typeof p.password === 'string' && p.password ? p.password : undefined;
  if (user && !password) throw new LetterboxError('INVALID', '--user needs a password (--password-stdin)');
  return { host, port, tls, mode, ...(user ? { user, password } : {}) };
}

/** What may be shown of the settings. */
export function publicRelay(relay: RelaySettings | undefined) {
  if (!relay) return { configured: false };
  return { configured: true, host: relay.host, port: relay.port, tls: relay.tls, mode: relay.mode, user: relay.user ?? null, password: relay.password ? '(set)' : null };
}

export const relayOperations = {
  'relay.set': async (ctx: AdminContext, p: AdminParams) => {
    const relay = parseRelay(p, await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING));
    await ctx.settings.putSetting(RELAY_SETTING, relay);
    return publicRelay(relay);
  },
  'relay.show': async (ctx: AdminContext) => publicRelay(await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING)),
  'relay.test': async (ctx: AdminContext, p: AdminParams) => {
    if (!(await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING))) throw new LetterboxError('INVALID', 'no smarthost is set (letterbox relay set ...)');
    const to = typeof p.address === 'string' ? p.address : '';
    if (!to.includes('@')) throw new LetterboxError('INVALID', 'relay test takes an ADDRESS');
    return ctx.testRelay(to);
  },
};
