// RFC 9208 4.3.1: beside the tagged `NO [OVERQUOTA]` of a refused APPEND, a server may tell a client in
// an untagged `NO [OVERQUOTA]` that the account is at or over its limit, so the user learns why mail
// will bounce before it does. Said when a folder is selected and when an APPEND fills the account.
import type { CommandContext } from '../command.js';
import { accountOf } from './command-helpers.js';

export async function tellIfOverQuota(ctx: CommandContext): Promise<void> {
  // A quota that cannot be read now is no reason to fail the command that asked.
  const quota = await accountOf(ctx).quota().catch(() => null);
  if (quota && quota.limitBytes > 0 && quota.usedBytes >= quota.limitBytes) {
    ctx.untaggedStatus('NO', 'Mailbox is full: delete messages to make room for new mail', 'OVERQUOTA');
  }
}
