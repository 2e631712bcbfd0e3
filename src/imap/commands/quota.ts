// RFC 9208 (QUOTA, QUOTA=RES-STORAGE):
//   getquota     = "GETQUOTA" SP quota-root-name
//   getquotaroot = "GETQUOTAROOT" SP mailbox
//   setquota     = "SETQUOTA" SP quota-root-name SP setquota-list
//   quota-response = "QUOTA" SP quota-root-name SP quota-list
//   quota-list   = "(" quota-resource *(SP quota-resource) ")"
//   quota-resource = resource-name SP resource-usage SP resource-limit
// Each user has one quota root, named "", covering every folder; its one resource is STORAGE, in
// units of 1024 octets (RFC 9208 5.1), rounded down as Dovecot does. A user without a limit has no
// quota root. Limits are the administrator's: SETQUOTA is refused with CANNOT (RFC 9208 4.1.3).
import type { CommandContext, CommandSpec } from '../command.js';
import { astringBytes } from '../wire/arguments.js';
import { atom, list, num, str, type ResponseValue } from '../wire/encoder.js';
import { accountOf, argumentCount, FOLDER_STATES, mailboxArg } from '../folders/command-helpers.js';
import { mailboxValue } from '../folders/names.js';

const ROOT = '';

async function quotaResponse(ctx: CommandContext): Promise<ResponseValue[] | null> {
  const quota = await accountOf(ctx).quota();
  if (quota.limitBytes <= 0) return null;
  const storage = [atom('STORAGE'), num(Math.floor(quota.usedBytes / 1024)), num(Math.floor(quota.limitBytes / 1024))];
  return [atom('QUOTA'), str(ROOT), list(storage)];
}

const getQuotaRoot: CommandSpec = {
  name: 'GETQUOTAROOT',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 1)) return;
    const name = mailboxArg(ctx, ctx.command.args[0]);
    if (name === null) return;
    const folders = await accountOf(ctx).listFolders();
    if (!folders.some((f) => f.name === name)) return ctx.no('No such folder', 'NONEXISTENT');
    const quota = await quotaResponse(ctx);
    ctx.untagged([atom('QUOTAROOT'), mailboxValue(name, ctx.session), ...(quota ? [str(ROOT)] : [])]);
    if (quota) ctx.untagged(quota);
    ctx.ok('GETQUOTAROOT completed');
  },
};

const getQuota: CommandSpec = {
  name: 'GETQUOTA',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 1)) return;
    const root = astringBytes(ctx.command.args[0]);
    if (root === null) return ctx.bad('GETQUOTA: quota root name expected');
    const quota = root.length === 0 ? await quotaResponse(ctx) : null;
    if (!quota) return ctx.no('No such quota root', 'NONEXISTENT');
    ctx.untagged(quota);
    ctx.ok('GETQUOTA completed');
  },
};

const setQuota: CommandSpec = {
  name: 'SETQUOTA',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 2)) return;
    if (astringBytes(ctx.command.args[0]) === null || ctx.command.args[1]?.kind !== 'list') return ctx.bad('SETQUOTA: quota root and (resource limit ...) expected');
    ctx.no('Quotas are set by the administrator', 'CANNOT');
  },
};

/** GETQUOTAROOT, GETQUOTA and SETQUOTA. */
export const commands: readonly CommandSpec[] = [getQuotaRoot, getQuota, setQuota];

