// The administration operations behind every `letterbox` command. The same object serves the CLI
// when it opens the store itself and the admin socket when `serve` runs, so both behave identically.
import { LetterboxError } from '../core/errors.js';
import type { Directory, QueueControl, SettingsStore } from '../core/interfaces.js';
import type { DeliveryOutcome, StoreCheckReport } from '../core/types.js';
import type { DeliveryTally } from './delivery-ledger.js';
import { relayOperations } from './relay.js';
import { runDoctor, type DoctorSetup } from './doctor/index.js';
import { status } from './status.js';

export type AdminParams = Record<string, unknown>;

export interface AdminContext {
  directory: Directory;
  queue: QueueControl;
  settings: SettingsStore;
  dataDir: string;
  /** Sends a test message through the configured smarthost. */
  testRelay: (to: string) => Promise<DeliveryOutcome>;
  /** Verifies the store, every message read whole, and repairs what fails (`letterbox check`). */
  checkStore: () => Promise<StoreCheckReport>;
  /** What `letterbox doctor` needs of the configuration; without it, doctor is refused. */
  doctor?: DoctorSetup;
  /** Present when the operation runs inside `serve`. */
  live?: {
    startedAt: number;
    services: () => { service: string; address: string; port: number }[];
    outboundBlocked: () => boolean;
    lastDeliveryAt: () => number | undefined;
    /** The last attempt's result and today's bounces, as the service heard them. */
    deliveries?: () => DeliveryTally;
  };
}

type Operation = (ctx: AdminContext, params: AdminParams) => Promise<unknown>;

export function text(params: AdminParams, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') throw new LetterboxError('INVALID', `missing ${name}`);
  return value;
}

function quotaBytes(params: AdminParams): number {
  const value = params.quota;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new LetterboxError('INVALID', 'missing quota');
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
  'user.quota': async (ctx, p) => ctx.directory.setQuota(text(p, 'address'), quotaBytes(p)),
  'alias.add': async (ctx, p) => ctx.directory.addAlias(text(p, 'alias'), texts(p, 'targets')),
  'alias.del': async (ctx, p) => ctx.directory.deleteAlias(text(p, 'alias')),
  'alias.list': async (ctx) => ctx.directory.listAliases(),
  'queue.list': async (ctx) => ctx.queue.listQueue(),
  'queue.retry': async (ctx, p) => ({ entries: await ctx.queue.retry(p.all === true ? undefined : text(p, 'id')) }),
  'queue.delete': async (ctx, p) => ctx.queue.remove(text(p, 'id')),
  'queue.bounce': async (ctx, p) => ctx.queue.bounce(text(p, 'id')),
  ...relayOperations,
  status: async (ctx) => status(ctx),
  'store.check': async (ctx) => ctx.checkStore(),
  doctor: async (ctx) => runDoctor(ctx),
};

export async function runOperation(ctx: AdminContext, op: string, params: AdminParams): Promise<unknown> {
  const operation = Object.hasOwn(operations, op) ? operations[op] : undefined;
  if (!operation) throw new LetterboxError('INVALID', `unknown operation ${op}`);
  return operation(ctx, params);
}
