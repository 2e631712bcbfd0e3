// `letterbox status`: the one-screen summary. What only the running service knows (listeners, the last
// delivery, bounces today, whether port 25 seems blocked) is present when the command reached `serve`
// over the admin socket, and null otherwise rather than guessed.
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { RelaySettings } from '../core/types.js';
import type { AdminContext } from './api.js';
import { RELAY_SETTING } from './relay.js';

const iso = (at: number | undefined): string | null => (at === undefined ? null : new Date(at).toISOString());

/** Bytes of the files under `dir`: the store's LevelDB files and the TLS material, a few dozen files. */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += (await stat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function queueSummary(ctx: AdminContext) {
  const queue = await ctx.queue.listQueue();
  const pending = queue.flatMap((entry) => entry.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'bounced'));
  const waiting = queue.filter((entry) => entry.recipients.some((r) => r.state === 'deferred')).map((entry) => entry.createdAt);
  return {
    messages: queue.length,
    recipients: pending.length,
    deferred: pending.filter((r) => r.state === 'deferred').length,
    oldestDeferredAt: iso(waiting.length > 0 ? Math.min(...waiting) : undefined),
  };
}

function deliverySummary(ctx: AdminContext) {
  const blocked = ctx.live?.outboundBlocked() ?? false;
  const tally = ctx.live?.deliveries?.();
  const last = tally?.last;
  return {
    lastDeliveryAt: iso(ctx.live?.lastDeliveryAt()),
    outboundPort25Blocked: blocked,
    ...(blocked ? { note: 'outbound port 25 seems blocked; mail goes through the smarthost' } : {}),
    lastAttempt: last ? { at: iso(last.at), recipient: last.recipient, result: last.result, reply: last.reply ?? null } : null,
    bouncedToday: tally ? tally.bouncedToday : null,
    bouncesCountedSince: iso(tally?.countedSince),
  };
}

export async function status(ctx: AdminContext) {
  const disk = await statfs(ctx.dataDir);
  const relay = await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING);
  return {
    running: ctx.live !== undefined,
    ...(ctx.live ? { startedAt: iso(ctx.live.startedAt) } : {}),
    services: ctx.live?.services() ?? [],
    queue: await queueSummary(ctx),
    delivery: deliverySummary(ctx),
    relay: relay ? { configured: true, mode: relay.mode, host: relay.host, port: relay.port } : { configured: false },
    domains: (await ctx.directory.listDomains()).length,
    users: (await ctx.directory.listUsers()).length,
    disk: { path: ctx.dataDir, totalBytes: disk.blocks * disk.bsize, freeBytes: disk.bavail * disk.bsize, dataBytes: await directoryBytes(ctx.dataDir) },
  };
}

export type StatusReport = Awaited<ReturnType<typeof status>>;
