// The administration operations behind every `letterbox` command. The same object serves the CLI
// when it opens the store itself and the admin socket when `serve` runs, so both behave identically.
import { statfs } from 'node:fs/promises';
import { LetterboxError } from '../core/errors.js';
import type { Directory, QueueStore } from '../core/interfaces.js';

export type AdminParams = Record<string, unknown>;

export interface AdminContext {
  directory: Directory;
  queue: QueueStore;
  dataDir: string;
  /** Present when the operation runs inside `serve`. */
  services?: () => { service: string; address: string; port: number }[];
  startedAt?: number;
}

type Operation = (ctx: AdminContext, params: AdminParams) => Promise<unknown>;

function text(params: AdminParams, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') throw new LetterboxError('INVALID', `missing ${name}`);
  return value;
}

function texts(params: AdminParams, name: string): string[] {
  const value = params[name];
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) throw new LetterboxError('INVALID', `missing ${name}`);
  return value as string[];
}

export const operations: Record<string, Operation> = {
  'domain.add': async (ctx, p) => ctx.directory.addDomain(text(p, 'domain')),
  'domain.del': async (ctx, p) => ctx.directory.deleteDomain(text(p, 'domain')),
  'domain.list': async (ctx) => ctx.directory.listDomains(),
  'user.add': async (ctx, p) => ctx.directory.addUser(text(p, 'address'), text(p, 'password')),
  'user.del': async (ctx, p) => ctx.directory.deleteUser(text(p, 'address')),
  'user.passwd': async (ctx, p) => ctx.directory.setPassword(text(p, 'address'), text(p, 'password')),
  'user.list': async (ctx) => ctx.directory.listUsers(),
  'alias.add': async (ctx, p) => ctx.directory.addAlias(text(p, 'alias'), texts(p, 'targets')),
  'alias.del': async (ctx, p) => ctx.directory.deleteAlias(text(p, 'alias')),
  'alias.list': async (ctx) => ctx.directory.listAliases(),
  'queue.list': async (ctx) => ctx.queue.listQueue(),
  status: async (ctx) => status(ctx),
};

export async function runOperation(ctx: AdminContext, op: string, params: AdminParams): Promise<unknown> {
  const operation = Object.hasOwn(operations, op) ? operations[op] : undefined;
  if (!operation) throw new LetterboxError('INVALID', `unknown operation ${op}`);
  return operation(ctx, params);
}

async function status(ctx: AdminContext) {
  const queue = await ctx.queue.listQueue();
  const pending = queue.flatMap((entry) => entry.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'bounced'));
  const disk = await statfs(ctx.dataDir);
  return {
    running: ctx.services !== undefined,
    ...(ctx.startedAt ? { startedAt: new Date(ctx.startedAt).toISOString() } : {}),
    services: ctx.services?.() ?? [],
    queue: {
      messages: queue.length,
      recipients: pending.length,
      deferred: pending.filter((r) => r.state === 'deferred').length,
    },
    domains: (await ctx.directory.listDomains()).length,
    users: (await ctx.directory.listUsers()).length,
    disk: { path: ctx.dataDir, totalBytes: disk.blocks * disk.bsize, freeBytes: disk.bavail * disk.bsize },
  };
}
