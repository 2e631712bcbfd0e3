// RFC 3501 6.3.8, RFC 5258 (LIST-EXTENDED), RFC 3348 (CHILDREN), RFC 6154 (SPECIAL-USE), RFC 5819
// (LIST-STATUS); the grammar is in folders/list-options.ts:
//   list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
// Each name is answered `* LIST (attributes) "/" name [extended items]`. Attributes as Dovecot gives
// them: in the basic syntax \HasChildren or \HasNoChildren and special uses always; in the extended
// syntax only what the return options ask for (RFC 5258 4, RFC 6154 2). A level with no folder of its
// own is \Noselect (\NonExistent in the extended syntax, RFC 5258 3).
import type { CommandContext, CommandSpec } from '../command.js';
import { astr, atom, list, str, type ResponseValue } from '../wire/encoder.js';
import { accountOf, FOLDER_STATES } from '../folders/command-helpers.js';
import { readListRequest, type ListRequest } from '../folders/list-options.js';
import { buildListTree, ancestorsOf, type ListNode } from '../folders/list-tree.js';
import { DELIMITER, mailboxValue } from '../folders/names.js';
import { isSpecialUse } from '../folders/special-use.js';
import { enablesCondstore, statusResponse } from '../folders/status-items.js';

/** RFC 5258 3: what the selection options ask of a name itself. */
function meetsSelection(node: ListNode, request: ListRequest): boolean {
  if (request.selectSubscribed && !node.subscribed) return false;
  if (request.selectSpecialUse && (!node.exists || node.specialUse === null)) return false;
  return node.exists || request.selectSubscribed;
}

/**
 * Under RECURSIVEMATCH (RFC 5258 3.5): `childInfo`, names with a descendant that meets the selection
 * (they carry CHILDINFO); `holders`, those of them with such a descendant the patterns do not reach
 * (they are listed even when they do not meet it themselves), as Dovecot reads the RFC.
 */
function parentsOfSelected(nodes: readonly ListNode[], request: ListRequest): { childInfo: Set<string>; holders: Set<string> } {
  const childInfo = new Set<string>();
  const holders = new Set<string>();
  if (!request.recursiveMatch) return { childInfo, holders };
  for (const node of nodes) {
    if (!meetsSelection(node, request)) continue;
    const unmatched = !request.patterns.some((p) => p.matches(node.name));
    for (const ancestor of ancestorsOf(node.name)) {
      childInfo.add(ancestor);
      if (unmatched) holders.add(ancestor);
    }
  }
  return { childInfo, holders };
}

function attributesOf(node: ListNode, request: ListRequest): ResponseValue[] {
  const attributes: string[] = [];
  if (!node.exists) attributes.push(request.extended ? '\\NonExistent' : '\\Noselect');
  if (node.subscribed && (request.selectSubscribed || request.returnSubscribed)) attributes.push('\\Subscribed');
  if (request.returnChildren) attributes.push(node.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
  if (request.returnSpecialUse && node.specialUse !== null && isSpecialUse(node.specialUse)) attributes.push(node.specialUse);
  return attributes.map((a) => atom(a));
}

/** Which nodes are listed, and whether each carries CHILDINFO. */
function chooseNodes(nodes: readonly ListNode[], request: ListRequest): { node: ListNode; childInfo: boolean }[] {
  const { childInfo, holders } = parentsOfSelected(nodes, request);
  const filtered = request.selectSubscribed || request.selectSpecialUse;
  const chosen: { node: ListNode; childInfo: boolean }[] = [];
  for (const node of nodes) {
    if (!request.patterns.some((p) => p.matches(node.name))) continue;
    // Without selection options every name is listed, a missing level as \Noselect (RFC 3501 6.3.8).
    if (!filtered || meetsSelection(node, request) || holders.has(node.name)) chosen.push({ node, childInfo: childInfo.has(node.name) });
  }
  return chosen;
}

function childInfoItem(request: ListRequest): ResponseValue {
  const criteria = [request.selectSubscribed ? 'SUBSCRIBED' : null, request.selectSpecialUse ? 'SPECIAL-USE' : null].filter((c) => c !== null);
  // RFC 5258 6: the tag is an astring; sent as an atom, as Dovecot does.
  return list([astr('CHILDINFO'), list(criteria.map((c) => str(c)))]);
}

async function answerList(ctx: CommandContext, request: ListRequest): Promise<void> {
  const account = accountOf(ctx);
  const nodes = buildListTree(await account.listFolders());
  for (const { node, childInfo } of chooseNodes(nodes, request)) {
    const values = [atom('LIST'), list(attributesOf(node, request)), str(DELIMITER), mailboxValue(node.name, ctx.session)];
    if (childInfo) values.push(childInfoItem(request));
    ctx.untagged(values);
    // RFC 5819 2: STATUS follows the LIST of each selectable name; a folder gone meanwhile is skipped.
    if (request.returnStatus && node.exists) {
      const status = await account.status(node.name).catch(() => null);
      if (status) ctx.untagged(statusResponse(node.name, request.returnStatus, status, ctx.session));
    }
  }
}

export const command: CommandSpec = {
  name: 'LIST',
  states: FOLDER_STATES,
  async run(ctx) {
    const request = readListRequest(ctx.command.args, ctx.session);
    if (typeof request === 'string') return ctx.bad(request);
    if (request.delimiterRoot !== null) {
      // RFC 3501 6.3.8: `LIST "" ""` gives the delimiter and the root name.
      ctx.untagged([atom('LIST'), list([atom('\\Noselect')]), str(DELIMITER), mailboxValue(request.delimiterRoot, ctx.session)]);
      return ctx.ok('LIST completed');
    }
    if (request.returnStatus && enablesCondstore(request.returnStatus)) ctx.session.enabled.add('CONDSTORE');
    await answerList(ctx, request);
    ctx.ok('LIST completed');
  },
};
