// One line for each change an administrator makes: what was done, in the words of the command.
import type { AdminParams } from '../api.js';
import { size } from './style.js';

const name = (params: AdminParams, key: string): string => (typeof params[key] === 'string' ? params[key] : '');

/** The confirmation of `op`, or undefined when it is not a change. Never shows a password. */
export function changeLine(op: string, params: AdminParams, result: unknown): string | undefined {
  switch (op) {
    case 'domain.add':
      return `added domain ${name(params, 'domain')}`;
    case 'domain.del':
      return `deleted domain ${name(params, 'domain')}`;
    case 'user.add':
      return `added ${(result as { address?: string } | null)?.address ?? name(params, 'address')}`;
    case 'user.passwd':
      return `changed the password of ${name(params, 'address')}`;
    case 'user.quota': {
      const quota = typeof params.quota === 'number' ? params.quota : 0;
      return quota === 0 ? `${name(params, 'address')} has no quota now` : `the quota of ${name(params, 'address')} is ${size(quota)} now`;
    }
    case 'user.del':
      return `deleted ${name(params, 'address')} and its mail`;
    case 'alias.add': {
      // The store's form of the names (lower case), as `alias list` will show them.
      const added = result as { alias?: string; targets?: string[] } | null;
      const targets = added?.targets ?? (Array.isArray(params.targets) ? params.targets : []);
      return `added alias ${added?.alias ?? name(params, 'alias')} -> ${targets.join(', ')}`;
    }
    case 'alias.del':
      return `deleted alias ${name(params, 'alias')}`;
    case 'queue.retry': {
      const entries = (result as { entries?: number } | null)?.entries ?? 0;
      if (params.all === true) return entries === 0 ? 'the queue is empty: nothing to retry' : `trying ${entries === 1 ? 'the 1 queued message' : `all ${entries} queued messages`} now`;
      return `trying ${name(params, 'id')} now`;
    }
    case 'queue.delete':
      return `deleted ${name(params, 'id')} from the queue (nobody is told)`;
    case 'queue.bounce':
      return `bounced ${name(params, 'id')}: the sender gets a delivery failure notice`;
    default:
      return undefined;
  }
}
