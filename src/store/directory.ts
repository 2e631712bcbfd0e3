// Domains, users and aliases, and how a recipient address resolves to mailboxes (RFC 5321 3.6.2
// forwarding via aliases, catch-all, and the `+detail` sub-addressing of RFC 5233).
import { isValidDomain, isValidMailboxAddress, normalizeAddress, normalizeDomain, parseAddress, withoutDetail } from '../core/address.js';
import { LetterboxError } from '../core/errors.js';
import { checkNewPassword } from '../core/passwords.js';
import type { Authenticator, Directory } from '../core/interfaces.js';
import type { Alias, QuotaUsage, Resolution, User, UserSummary } from '../core/types.js';
import type { Sublevels } from './db.js';
import type { StoreFolders } from './folders.js';
import type { WriteLane } from './lane.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { AliasRecord, UserRecord } from './records.js';

const MAX_ALIAS_DEPTH = 8;

export class StoreDirectory implements Directory, Authenticator {
  constructor(
    private readonly sub: Sublevels,
    private readonly lane: WriteLane,
    private readonly folders: StoreFolders,
  ) {}

  async listDomains(): Promise<string[]> {
    return this.sub.domains.keys().all();
  }

  async addDomain(domain: string): Promise<void> {
    const name = normalizeDomain(domain);
    if (!isValidDomain(name)) throw new LetterboxError('INVALID', `not a valid domain name: ${domain}`);
    if (await this.isLocalDomain(name)) throw new LetterboxError('ALREADY_EXISTS', `domain ${name} already exists`);
    await this.lane.run(async (txn) => void txn.batch.put(this.sub.domains, name, { addedAt: Date.now() }));
  }

  async deleteDomain(domain: string): Promise<void> {
    const name = normalizeDomain(domain);
    if (!(await this.isLocalDomain(name))) throw new LetterboxError('NOT_FOUND', `no such domain: ${name}`);
    const users = (await this.listUsers()).filter((u) => parseAddress(u.address)?.domain === name);
    if (users.length > 0) throw new LetterboxError('INVALID', `domain ${name} still has ${users.length} mailbox(es); delete them first`);
    const aliases = (await this.listAliases()).filter((a) => parseAliasDomain(a.alias) === name);
    await this.lane.run(async (txn) => {
      txn.batch.del(this.sub.domains, name);
      for (const alias of aliases) txn.batch.del(this.sub.aliases, alias.alias);
    });
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return (await this.sub.domains.get(normalizeDomain(domain))) !== undefined;
  }

  async addUser(address: string, password: string, quota = 0): Promise<User> {
    const name = normalizeAddress(address);
    if (!isValidMailboxAddress(name)) throw new LetterboxError('INVALID', `not a valid mailbox address: ${address}`);
    const domain = parseAddress(name)?.domain ?? '';
    if (!(await this.isLocalDomain(domain))) throw new LetterboxError('INVALID', `${domain} is not one of this box's domains; add it first (letterbox domain add ${domain})`);
    if (await this.getUser(name)) throw new LetterboxError('ALREADY_EXISTS', `mailbox ${name} already exists`);
    if (await this.sub.aliases.get(name)) throw new LetterboxError('ALREADY_EXISTS', `${name} is an alias`);
    checkNewPassword(password);
    const record: UserRecord = { address: name, passwordHash: await hashPassword(password), quota, createdAt: Date.now() };
    await this.lane.run(async (txn) => {
      txn.batch.put(this.sub.users, name, record);
      txn.ensureDefaultFolders(name);
    });
    return { address: name, quota, createdAt: record.createdAt };
  }

  async deleteUser(address: string): Promise<void> {
    const name = normalizeAddress(address);
    if (!(await this.getUser(name))) throw new LetterboxError('NOT_FOUND', `no such mailbox: ${name}`);
    await this.lane.run(async (txn) => {
      txn.batch.del(this.sub.users, name);
      await this.folders.dropUser(txn, name);
      // Aliases must not keep pointing at a mailbox that is gone (mail would fall to a catch-all).
      for await (const [alias, record] of this.sub.aliases.iterator()) {
        const targets = (record as AliasRecord).targets.filter((t) => t !== name);
        if (targets.length === (record as AliasRecord).targets.length) continue;
        if (targets.length === 0) txn.batch.del(this.sub.aliases, alias);
        else txn.batch.put(this.sub.aliases, alias, { targets } satisfies AliasRecord);
      }
    });
  }

  async setPassword(address: string, password: string): Promise<void> {
    const name = normalizeAddress(address);
    const record = (await this.sub.users.get(name)) as UserRecord | undefined;
    if (!record) throw new LetterboxError('NOT_FOUND', `no such mailbox: ${name}`);
    checkNewPassword(password);
    const passwordHash = await hashPassword(password);
    await this.lane.run(async (txn) => void txn.batch.put(this.sub.users, name, { ...record, passwordHash }));
  }

  /** Sets a user's quota in bytes (0: none). */
  async setQuota(address: string, quota: number): Promise<void> {
    const name = normalizeAddress(address);
    if (!Number.isSafeInteger(quota) || quota < 0) throw new LetterboxError('INVALID', `not a quota in bytes: ${quota}`);
    await this.lane.run(async (txn) => {
      const record = (await this.sub.users.get(name)) as UserRecord | undefined;
      if (!record) throw new LetterboxError('NOT_FOUND', `no such mailbox: ${name}`);
      txn.batch.put(this.sub.users, name, { ...record, quota });
    });
  }

  async getUser(address: string): Promise<User | null> {
    const record = (await this.sub.users.get(normalizeAddress(address))) as UserRecord | undefined;
    return record ? { address: record.address, quota: record.quota, createdAt: record.createdAt } : null;
  }

  /** Every user with the messages and bytes of all their folders (held in memory: no scan). */
  async listUsers(): Promise<UserSummary[]> {
    const users: UserSummary[] = [];
    for await (const record of this.sub.users.values()) {
      const user = record as UserRecord;
      let messages = 0;
      let bytes = 0;
      for (const folder of this.lane.folders.foldersOf(user.address).values()) {
        messages += folder.messages;
        bytes += folder.bytes;
      }
      users.push({ address: user.address, quota: user.quota, createdAt: user.createdAt, messages, bytes });
    }
    return users;
  }

  /** The user's use of their quota over every folder; null for nobody of that address. */
  async quotaState(address: string): Promise<QuotaUsage | null> {
    return this.folders.usage(normalizeAddress(address)).catch((err: unknown) => {
      if (err instanceof LetterboxError && err.code === 'NOT_FOUND') return null;
      throw err;
    });
  }

  async addAlias(alias: string, targets: string[]): Promise<Alias> {
    const name = alias.startsWith('@') ? `@${normalizeDomain(alias.slice(1))}` : normalizeAddress(alias);
    const domain = parseAliasDomain(name);
    if (!domain || (!name.startsWith('@') && !isValidMailboxAddress(name))) throw new LetterboxError('INVALID', `not a valid alias: ${alias}`);
    if (!(await this.isLocalDomain(domain))) throw new LetterboxError('INVALID', `${domain} is not one of this box's domains`);
    if (await this.getUser(name)) throw new LetterboxError('ALREADY_EXISTS', `${name} is a mailbox`);
    if (targets.length === 0) throw new LetterboxError('INVALID', 'an alias needs at least one target');
    const normalized = [...new Set(targets.map(normalizeAddress))];
    for (const target of normalized) {
      if (!isValidMailboxAddress(target)) throw new LetterboxError('INVALID', `not a valid target address: ${target}`);
      const targetDomain = parseAddress(target)?.domain ?? '';
      if ((await this.isLocalDomain(targetDomain)) && (await this.resolve(target)) === null) {
        throw new LetterboxError('INVALID', `target ${target} is in a local domain but is not a mailbox or alias`);
      }
    }
    await this.lane.run(async (txn) => void txn.batch.put(this.sub.aliases, name, { targets: normalized } satisfies AliasRecord));
    return { alias: name, targets: normalized };
  }

  async deleteAlias(alias: string): Promise<void> {
    const name = alias.startsWith('@') ? `@${normalizeDomain(alias.slice(1))}` : normalizeAddress(alias);
    if (!(await this.sub.aliases.get(name))) throw new LetterboxError('NOT_FOUND', `no such alias: ${name}`);
    await this.lane.run(async (txn) => void txn.batch.del(this.sub.aliases, name));
  }

  async listAliases(): Promise<Alias[]> {
    const aliases: Alias[] = [];
    for await (const [alias, record] of this.sub.aliases.iterator()) aliases.push({ alias, targets: (record as AliasRecord).targets });
    return aliases;
  }

  async resolve(address: string): Promise<Resolution | null> {
    const found: Resolution = { local: [], remote: [] };
    const ok = await this.resolveInto(normalizeAddress(address), found, 0, new Set());
    // Aliases that only lead back to each other (a -> b -> a) reach nobody: unknown, not an empty success.
    return ok && found.local.length + found.remote.length > 0 ? found : null;
  }

  // Order: the exact mailbox, the exact alias, then the same without +detail, then the catch-all.
  private async resolveInto(address: string, found: Resolution, depth: number, seen: Set<string>): Promise<boolean> {
    const parsed = parseAddress(address);
    if (!parsed) return false;
    if (!(await this.isLocalDomain(parsed.domain))) {
      if (!found.remote.includes(address)) found.remote.push(address);
      return true;
    }
    if (seen.has(address) || depth > MAX_ALIAS_DEPTH) return seen.has(address);
    seen.add(address);
    const base = withoutDetail(address);
    for (const candidate of base ? [address, base] : [address]) {
      if (await this.sub.users.get(candidate)) {
        if (!found.local.includes(candidate)) found.local.push(candidate);
        return true;
      }
      const alias = (await this.sub.aliases.get(candidate)) as AliasRecord | undefined;
      if (alias) return this.expand(alias, found, depth, seen);
    }
    const catchAll = (await this.sub.aliases.get(`@${parsed.domain}`)) as AliasRecord | undefined;
    if (catchAll) return this.expand(catchAll, found, depth, seen);
    if (parsed.local.toLowerCase() === 'postmaster') return this.resolvePostmaster(parsed.domain, found);
    return false;
  }

  // RFC 5321 4.5.1: every domain must accept mail for postmaster. Without an alias or mailbox of that
  // name, it goes to the domain's first mailbox (on an office box, the one who set it up), else the
  // box's first mailbox.
  private async resolvePostmaster(domain: string, found: Resolution): Promise<boolean> {
    let first: UserRecord | undefined;
    let firstInDomain: UserRecord | undefined;
    for await (const value of this.sub.users.values()) {
      const user = value as UserRecord;
      if (!first || user.createdAt < first.createdAt) first = user;
      if (user.address.endsWith(`@${domain}`) && (!firstInDomain || user.createdAt < firstInDomain.createdAt)) firstInDomain = user;
    }
    const owner = firstInDomain ?? first;
    if (!owner) return false;
    if (!found.local.includes(owner.address)) found.local.push(owner.address);
    return true;
  }

  private async expand(alias: AliasRecord, found: Resolution, depth: number, seen: Set<string>): Promise<boolean> {
    let any = false;
    for (const target of alias.targets) any = (await this.resolveInto(target, found, depth + 1, seen)) || any;
    return any;
  }

  async maySendAs(user: string, sender: string): Promise<boolean> {
    const owner = normalizeAddress(user);
    const address = normalizeAddress(sender);
    if (address === owner) return true;
    // Whoever receives an address may send as it, looked up in resolve()'s order, so `alice+x` belongs to
    // the mailbox or alias of that exact name when there is one, and to alice only otherwise. The
    // catch-all is left out: it would let one user send as every unused name of the domain.
    const base = withoutDetail(address);
    for (const candidate of base ? [address, base] : [address]) {
      if (await this.sub.users.get(candidate)) return candidate === owner;
      if (await this.sub.aliases.get(candidate)) return (await this.resolve(candidate))?.local.includes(owner) ?? false;
    }
    return false;
  }

  async authenticate(username: string, password: string): Promise<string | null> {
    const name = normalizeAddress(username);
    const record = (await this.sub.users.get(name)) as UserRecord | undefined;
    const ok = await verifyPassword(password, record?.passwordHash);
    return ok && record ? record.address : null;
  }
}

function parseAliasDomain(alias: string): string | null {
  if (alias.startsWith('@')) return alias.slice(1) || null;
  return parseAddress(alias)?.domain ?? null;
}

